import { CompressionError, DecompressedSizeExceededError } from '../../errors.js'

/**
 * Raw Snappy blocks (https://github.com/google/snappy/blob/main/format_description.txt):
 *
 *   block    = uvarint(uncompressed length) element*
 *   element  = tag byte, low two bits the kind:
 *     00 literal   length-1 in the upper six bits when < 60; 60..63 mean 1..4 little-endian bytes of length-1 follow
 *     01 copy      length 4 + bits 2-4 (4..11), offset bits 5-7 as the high bits of an 11-bit offset + 1 byte
 *     10 copy      length 1 + bits 2-7 (1..64), 2-byte little-endian offset
 *     11 copy      length 1 + bits 2-7 (1..64), 4-byte little-endian offset
 *   A copy repeats `length` bytes starting `offset` bytes back in the output (offset 0 is invalid); it may
 *   overlap the bytes it writes, which repeats a short pattern.
 */

const NAME = 'snappy'
// Below this many bytes a plain loop beats the native copy (subarray + set / copyWithin) and its allocation.
const SHORT_COPY = 32

/** Reads the uncompressed-length preamble: [length, bytes used]. */
export function snappyUncompressedLength(src: Uint8Array, start: number, end: number): [number, number] {
  let value = 0
  let pos = start
  for (let shift = 0; shift < 35; shift += 7) {
    if (pos >= end) throw new CompressionError(NAME, 'block ends inside its length preamble')
    const b = src[pos++]!
    value += (b & 0x7f) * 2 ** shift
    if ((b & 0x80) === 0) {
      if (value > 0xffffffff) break
      return [value, pos - start]
    }
  }
  throw new CompressionError(NAME, 'block length preamble does not fit in 32 bits')
}

/**
 * Decodes the raw block `src[start, end)` into `dst` at `dstStart`, returning the number of bytes written.
 * The caller sizes `dst` from the preamble (after checking it against its cap); every element is checked
 * against that size, so a block cannot write past what it declared.
 */
export function decodeSnappyBlock(
  src: Uint8Array,
  start: number,
  end: number,
  dst: Uint8Array,
  dstStart: number,
  maxSize: number,
): number {
  const [length, preamble] = snappyUncompressedLength(src, start, end)
  if (length > maxSize) throw new DecompressedSizeExceededError(NAME, maxSize)
  if (dstStart + length > dst.length) throw new CompressionError(NAME, 'output buffer smaller than the block')
  let s = start + preamble
  let d = dstStart
  const dEnd = dstStart + length
  while (s < end) {
    const tag = src[s++]!
    const kind = tag & 3
    if (kind === 0) {
      let len = tag >>> 2
      if (len >= 60) {
        const bytes = len - 59
        if (s + bytes > end) throw new CompressionError(NAME, 'literal length runs past the end of the block')
        len = 0
        for (let k = 0; k < bytes; k++) len += src[s + k]! * 2 ** (8 * k)
        s += bytes
      }
      len += 1
      if (len > end - s) throw new CompressionError(NAME, 'literal runs past the end of the block')
      if (len > dEnd - d) throw new CompressionError(NAME, 'literal runs past the declared length')
      if (len < SHORT_COPY) {
        for (const stop = s + len; s < stop; ) dst[d++] = src[s++]!
      } else {
        dst.set(src.subarray(s, s + len), d)
        s += len
        d += len
      }
      continue
    }
    let len: number
    let offset: number
    if (kind === 1) {
      if (s >= end) throw new CompressionError(NAME, 'copy runs past the end of the block')
      len = 4 + ((tag >>> 2) & 7)
      offset = ((tag >>> 5) << 8) | src[s++]!
    } else if (kind === 2) {
      if (s + 2 > end) throw new CompressionError(NAME, 'copy runs past the end of the block')
      len = (tag >>> 2) + 1
      offset = src[s]! | (src[s + 1]! << 8)
      s += 2
    } else {
      if (s + 4 > end) throw new CompressionError(NAME, 'copy runs past the end of the block')
      len = (tag >>> 2) + 1
      offset = (src[s]! | (src[s + 1]! << 8) | (src[s + 2]! << 16) | (src[s + 3]! << 24)) >>> 0
      s += 4
    }
    if (offset === 0 || offset > d - dstStart) throw new CompressionError(NAME, `copy offset ${offset} is out of range`)
    if (len > dEnd - d) throw new CompressionError(NAME, 'copy runs past the declared length')
    let from = d - offset
    if (len >= SHORT_COPY && offset >= len) {
      dst.copyWithin(d, from, from + len)
      d += len
    } else {
      // Short or overlapping (offset < len repeats the last `offset` bytes): byte by byte.
      for (const stop = d + len; d < stop; ) dst[d++] = dst[from++]!
    }
  }
  if (d !== dEnd) throw new CompressionError(NAME, `block produced ${d - dstStart} bytes but declared ${length}`)
  return length
}

/** Worst-case size of a compressed block for `n` input bytes (format_description.txt: 32 + n + n/6). */
export function maxSnappyBlockSize(n: number): number {
  return 32 + n + Math.floor(n / 6)
}

// Matches are searched within 64 KiB fragments, so every copy offset fits the two-byte form.
const FRAGMENT = 1 << 16
const HASH_BITS = 14
const MIN_MATCH = 4

function load32(a: Uint8Array, i: number): number {
  return a[i]! | (a[i + 1]! << 8) | (a[i + 2]! << 16) | (a[i + 3]! << 24)
}

function hash(v: number): number {
  return Math.imul(v, 0x1e35a7bd) >>> (32 - HASH_BITS)
}

function writeLiteral(src: Uint8Array, start: number, end: number, dst: Uint8Array, d: number): number {
  const n = end - start - 1
  if (n < 60) {
    dst[d++] = n << 2
  } else if (n < 0x100) {
    dst[d++] = 60 << 2
    dst[d++] = n
  } else if (n < 0x10000) {
    dst[d++] = 61 << 2
    dst[d++] = n & 0xff
    dst[d++] = n >>> 8
  } else {
    // A fragment is at most 64 KiB, so three length bytes always suffice.
    dst[d++] = 62 << 2
    dst[d++] = n & 0xff
    dst[d++] = (n >>> 8) & 0xff
    dst[d++] = n >>> 16
  }
  dst.set(src.subarray(start, end), d)
  return d + end - start
}

function writeCopy(offset: number, len: number, dst: Uint8Array, d: number): number {
  // Long matches become 64-byte copies; stopping at 68 leaves a tail of at least 4 for the one-byte-offset form.
  while (len >= 68) {
    dst[d++] = (63 << 2) | 2
    dst[d++] = offset & 0xff
    dst[d++] = offset >>> 8
    len -= 64
  }
  if (len > 64) {
    dst[d++] = (59 << 2) | 2
    dst[d++] = offset & 0xff
    dst[d++] = offset >>> 8
    len -= 60
  }
  if (len <= 11 && offset < 2048) {
    dst[d++] = ((offset >>> 8) << 5) | ((len - 4) << 2) | 1
    dst[d++] = offset & 0xff
  } else {
    dst[d++] = ((len - 1) << 2) | 2
    dst[d++] = offset & 0xff
    dst[d++] = offset >>> 8
  }
  return d
}

/**
 * Compresses `src[start, end)` into one raw block written to `dst` at `d` (which must have
 * maxSnappyBlockSize(end - start) bytes of room); returns the position after the block.
 * Greedy matching of 4-byte sequences through a hash table, one table per 64 KiB fragment; a run of misses
 * widens the search step so incompressible input is skipped over quickly.
 */
export function encodeSnappyBlock(src: Uint8Array, start: number, end: number, dst: Uint8Array, d: number): number {
  let n = end - start
  while (n >= 0x80) {
    dst[d++] = (n & 0x7f) | 0x80
    n = Math.floor(n / 128)
  }
  dst[d++] = n
  const table = new Int32Array(1 << HASH_BITS)
  for (let base = start; base < end; base += FRAGMENT) {
    const fragEnd = Math.min(base + FRAGMENT, end)
    d = encodeFragment(src, base, fragEnd, dst, d, table)
  }
  return d
}

function encodeFragment(
  src: Uint8Array,
  base: number,
  end: number,
  dst: Uint8Array,
  d: number,
  table: Int32Array,
): number {
  let literalStart = base
  if (end - base >= 15) {
    // Positions are stored +1 relative to the fragment so that 0 means "empty".
    table.fill(0)
    const last = end - MIN_MATCH
    let i = base + 1
    let misses = 32
    while (i <= last) {
      const v = load32(src, i)
      const h = hash(v)
      const candidate = base + table[h]! - 1
      table[h] = i - base + 1
      if (candidate < base || load32(src, candidate) !== v) {
        i += misses++ >>> 5
        continue
      }
      misses = 32
      let len = MIN_MATCH
      while (i + len < end && src[candidate + len] === src[i + len]) len++
      if (literalStart < i) d = writeLiteral(src, literalStart, i, dst, d)
      d = writeCopy(i - candidate, len, dst, d)
      i += len
      literalStart = i
      if (i <= last) table[hash(load32(src, i - 1))] = i - 1 - base + 1
    }
  }
  if (literalStart < end) d = writeLiteral(src, literalStart, end, dst, d)
  return d
}
