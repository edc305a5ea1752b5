import type net from 'node:net'

/**
 * Writes `frame` the way `id` says (id % 4): whole, its size prefix split byte by byte, in 1000-byte writes, or
 * joined to the next frame, so a sequence of frames is cut into reads every way a reader must handle. Returns
 * true when `next` went out joined to `frame`.
 */
export async function writeCut(
  socket: net.Socket,
  id: number,
  frame: Buffer,
  next: Buffer | undefined,
): Promise<boolean> {
  const pause = () => new Promise((r) => setTimeout(r, 2))
  switch (id % 4) {
    case 0:
      socket.write(frame)
      return false
    case 1:
      for (let i = 0; i < 11; i++) {
        socket.write(frame.subarray(i, i + 1))
        await pause()
      }
      socket.write(frame.subarray(11))
      return false
    case 2:
      for (let at = 0; at < Math.min(frame.length, 20_000); at += 1000) {
        socket.write(frame.subarray(at, Math.min(frame.length, at + 1000)))
        await pause()
      }
      if (frame.length > 20_000) socket.write(frame.subarray(20_000))
      return false
    default:
      socket.write(next === undefined ? frame : Buffer.concat([frame, next]))
      return next !== undefined
  }
}
