import { CompressionError } from '../../errors.js'

/**
 * LZ4 blocks (https://github.com/lz4/lz4/blob/dev/doc/lz4_Block_format.md): a series of sequences, each
 *
 *   token (high nibble literal length, low nibble match length - 4; 15 means "more length bytes follow")
 *   [literal length bytes: 255 255 ... x, summed]  literals
 *   offset (2 bytes little-endian, 1..65535)  [match length bytes, summed]
 *
 * The last sequence has literals only. Encoders keep the end-of-block rules (the last 5 bytes are literals,
 * the last match starts at least 12 bytes before the end) so that fast decoders may over-read; this decoder
 * does not rely on them, it checks every length against both buffers.
 */

const NAME = 'lz4'
const MIN_MATCH = 4
const LAST_LITERALS = 5
const MF_LIMIT = 12
const MAX_OFFSET = 65535
const HASH_BITS = 12
// Below this many bytes a plain loop beats the native copy (subarray + set / copyWithin) and its allocation.
const SHORT_COPY = 32

/** Returned by decodeLz4Block when the block would write past `dstLimit`. */
export const LZ4_OUTPUT_FULL = -1

/**
 * Decodes the block `src[start, end)` into `dst` from `dstStart`, writing nothing at or past `dstLimit`.
 * Copies may reach back to `windowStart` (earlier blocks of a linked-block frame; equal to `dstStart`
 * for independent blocks). Returns the end position in `dst`, or LZ4_OUTPUT_FULL.
 */
export function decodeLz4Block(
  src: Uint8Array,
  start: number,
  end: number,
  dst: Uint8Array,
  dstStart: number,
  dstLimit: number,
  windowStart: number,
): number {
  let s = start
  let d = dstStart
  for (;;) {
    if (s >= end) throw new CompressionError(NAME, 'block ends before its last sequence')
    const token = src[s++]!
    let literals = token >>> 4
    if (literals === 15) {
      let b: number
      do {
        if (s >= end) throw new CompressionError(NAME, 'literal length runs past the end of the block')
        b = src[s++]!
        literals += b
      } while (b === 255)
    }
    if (literals > end - s) throw new CompressionError(NAME, 'literals run past the end of the block')
    if (literals > dstLimit - d) return LZ4_OUTPUT_FULL
    if (literals < SHORT_COPY) {
      for (const stop = s + literals; s < stop; ) dst[d++] = src[s++]!
    } else {
      dst.set(src.subarray(s, s + literals), d)
      s += literals
      d += literals
    }
    if (s === end) return d
    if (end - s < 2) throw new CompressionError(NAME, 'match offset runs past the end of the block')
    const offset = src[s]! | (src[s + 1]! << 8)
    s += 2
    if (offset === 0 || offset > d - windowStart)
      throw new CompressionError(NAME, `match offset ${offset} reaches before the start of the data`)
    let length = (token & 15) + MIN_MATCH
    if ((token & 15) === 15) {
      let b: number
      do {
        if (s >= end) throw new CompressionError(NAME, 'match length runs past the end of the block')
        b = src[s++]!
        length += b
      } while (b === 255)
    }
    if (length > dstLimit - d) return LZ4_OUTPUT_FULL
    let from = d - offset
    if (length >= SHORT_COPY && offset >= length) {
      dst.copyWithin(d, from, from + length)
      d += length
    } else {
      // Short or overlapping (offset < length repeats the last `offset` bytes): byte by byte.
      for (const stop = d + length; d < stop; ) dst[d++] = dst[from++]!
    }
  }
}

/** Worst-case size of a compressed block for `n` input bytes (lz4.h LZ4_COMPRESSBOUND: n + n/255 + 16). */
export function maxLz4BlockSize(n: number): number {
  return n + Math.floor(n / 255) + 16
}

function load32(a: Uint8Array, i: number): number {
  return a[i]! | (a[i + 1]! << 8) | (a[i + 2]! << 16) | (a[i + 3]! << 24)
}

function hash(v: number): number {
  return Math.imul(v, 0x9e3779b1) >>> (32 - HASH_BITS)
}

function writeLength(dst: Uint8Array, d: number, n: number): number {
  while (n >= 255) {
    dst[d++] = 255
    n -= 255
  }
  dst[d++] = n
  return d
}

function writeSequence(
  src: Uint8Array,
  literalStart: number,
  literalEnd: number,
  offset: number,
  matchLength: number,
  dst: Uint8Array,
  d: number,
): number {
  const literals = literalEnd - literalStart
  const m = matchLength - MIN_MATCH
  dst[d++] = (Math.min(literals, 15) << 4) | Math.min(m, 15)
  if (literals >= 15) d = writeLength(dst, d, literals - 15)
  dst.set(src.subarray(literalStart, literalEnd), d)
  d += literals
  dst[d++] = offset & 0xff
  dst[d++] = offset >>> 8
  if (m >= 15) d = writeLength(dst, d, m - 15)
  return d
}

function writeLastLiterals(src: Uint8Array, start: number, end: number, dst: Uint8Array, d: number): number {
  const literals = end - start
  dst[d++] = Math.min(literals, 15) << 4
  if (literals >= 15) d = writeLength(dst, d, literals - 15)
  dst.set(src.subarray(start, end), d)
  return d + literals
}

/**
 * Compresses `src[start, end)` as one independent block into `dst` at `d` (which needs maxLz4BlockSize room);
 * returns the end position. Greedy matching through a hash table of 4-byte sequences, keeping the
 * end-of-block rules above.
 */
export function encodeLz4Block(
  src: Uint8Array,
  start: number,
  end: number,
  dst: Uint8Array,
  d: number,
  table: Int32Array,
): number {
  let literalStart = start
  const matchLimit = end - LAST_LITERALS
  const last = end - MF_LIMIT
  if (end - start > MF_LIMIT) {
    // Positions are stored +1 relative to the block so that 0 means "empty".
    table.fill(0)
    let i = start + 1
    let misses = 64
    while (i <= last) {
      const v = load32(src, i)
      const h = hash(v)
      const candidate = start + table[h]! - 1
      table[h] = i - start + 1
      if (candidate < start || i - candidate > MAX_OFFSET || load32(src, candidate) !== v) {
        i += misses++ >>> 6
        continue
      }
      misses = 64
      let length = MIN_MATCH
      while (i + length < matchLimit && src[candidate + length] === src[i + length]) length++
      d = writeSequence(src, literalStart, i, i - candidate, length, dst, d)
      i += length
      literalStart = i
      if (i <= last) table[hash(load32(src, i - 2))] = i - 2 - start + 1
    }
  }
  return writeLastLiterals(src, literalStart, end, dst, d)
}
