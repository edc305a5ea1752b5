import type { Readable } from 'node:stream'

/** The last bytes a child process wrote to one of its pipes, and how many it wrote in all. */
export interface OutputTail {
  /** The last `maxBytes` (or fewer) written, as UTF-8. */
  text(): string
  /** Everything written so far, counted, not kept. */
  readonly bytes: number
}

/**
 * Reads `stream` to its end, keeping only its last `maxBytes`. A child's pipe that nobody reads fills (64 KiB on
 * Linux, pipe(7)) and then blocks the child's next write: a Kafka tool whose client logs a warning for every
 * reconnect to a dead broker then stops inside its logger, and never exits. Other 'data' listeners added by the
 * caller (in the same tick as the spawn returns) see every chunk too.
 */
export function drainTail(stream: Readable, maxBytes = 16 * 1024): OutputTail {
  let kept: Buffer[] = []
  let keptBytes = 0
  let bytes = 0
  stream.on('data', (chunk: Buffer) => {
    bytes += chunk.length
    kept.push(chunk)
    keptBytes += chunk.length
    if (keptBytes > 2 * maxBytes) {
      const joined = Buffer.concat(kept)
      kept = [joined.subarray(joined.length - maxBytes)]
      keptBytes = maxBytes
    }
  })
  return {
    text: () => {
      const joined = Buffer.concat(kept)
      return joined.subarray(Math.max(0, joined.length - maxBytes)).toString('utf8')
    },
    get bytes() {
      return bytes
    },
  }
}
