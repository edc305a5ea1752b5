import { Frame } from './frame.js'

/**
 * The contract for bytes read into a reused buffer (src/server/reused-read-buffer.ts): a chunk is valid only
 * during the call that handles it. Whatever must outlive the call is copied where that is cheap, or else the
 * buffer is "lent" (given up: the next read gets a fresh one). One lease per direction of a connection.
 */
export interface ReadLease {
  /** The chunk being handled is in a reused buffer and valid only during the call. */
  transient: boolean
  /** Something kept part of it: the buffer is given up and the next read gets a fresh one. */
  lent: boolean
}

/**
 * A whole frame up to this size is copied out of a reused read buffer (a memcpy cheaper than the new buffer a read
 * would otherwise need); a larger one keeps the buffer and the next read gets another.
 */
export const COPY_FRAMES_UP_TO = 64 * 1024

export function newLease(): ReadLease {
  return { transient: false, lent: false }
}

/** Runs `handle` on a read in a reused buffer, marked transient meanwhile; true when something kept part of it. */
export function handleTransient(lease: ReadLease, handle: () => void): boolean {
  lease.transient = true
  lease.lent = false
  try {
    handle()
  } finally {
    lease.transient = false
  }
  return lease.lent
}

/** A whole frame as something that may be kept after the read it came in. */
export function keepable(lease: ReadLease, first: Buffer, rest: Buffer[] | undefined, length: number): Frame {
  if (!lease.transient) return new Frame(first, rest, length)
  if (length > COPY_FRAMES_UP_TO) {
    lease.lent = true
    return new Frame(first, rest, length)
  }
  return Frame.of(rest === undefined ? Buffer.from(first) : Buffer.concat([first, ...rest], length))
}

/** A piece of a read that something keeps past the call: copied when small, else the buffer is lent. */
export function keepPiece(lease: ReadLease, piece: Buffer): Buffer {
  if (!lease.transient) return piece
  if (piece.length <= COPY_FRAMES_UP_TO) return Buffer.from(piece)
  lease.lent = true
  return piece
}
