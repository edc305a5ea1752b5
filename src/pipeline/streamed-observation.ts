import type { Reader } from '../../codec/primitives/reader.js'
import { StreamingSummaryDecoder } from '../../codec/records/streaming-summary-decoder.js'
import { Frame } from './frame.js'

/**
 * What the observing filters of a message streamed through piece by piece (cut-through) will see once its last
 * byte has passed. With records as summaries (every observer reads batch headers at most), the message is decoded
 * as the pieces go by and only its structure is copied (StreamingSummaryDecoder): nothing of the records is held,
 * so a multi-megabyte Fetch response costs the observers a few hundred bytes instead of its whole size. Otherwise
 * the pieces themselves are held and the message decoded from them at the end.
 */
export interface StreamedObservation<T> {
  /** The next piece; a summary observation uses it only during the call. */
  push(piece: Buffer): void
  /** The decoded message, after the last piece; throws the decode's error for a malformed one. */
  result(): T
  /** True when pieces are held after push returns (the caller may not reuse their memory). */
  readonly holdsPieces: boolean
}

/** Decoded as the pieces pass, records as summaries; `decode` reads the message from its first byte after the size. */
export function summaryObservation<T>(length: number, decode: (r: Reader) => T): StreamedObservation<T> {
  const decoder = new StreamingSummaryDecoder(length, 4, decode)
  return { push: (piece) => decoder.push(piece), result: () => decoder.result(), holdsPieces: false }
}

/** The pieces held, and the whole frame decoded by `decode` at the end. */
export function heldObservation<T>(length: number, decode: (frame: Frame) => T): StreamedObservation<T> {
  const pieces: Buffer[] = []
  return {
    push: (piece) => pieces.push(piece),
    result: () => decode(Frame.fromPieces(pieces, length)),
    holdsPieces: true,
  }
}
