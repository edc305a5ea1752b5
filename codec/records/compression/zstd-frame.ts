import { CompressionError, DecompressedSizeExceededError } from '../../errors.js'

/**
 * Zstandard frame structure (RFC 8878 section 3.1), read without decoding any block: enough to know, before a
 * decoder allocates anything, how much output the data can demand, and to keep its window no larger than that.
 *
 *   frame      = magic 0xFD2FB528 (LE)  Frame_Header_Descriptor  [Window_Descriptor]  [Dictionary_ID]
 *                [Frame_Content_Size]  block+  [Content_Checksum u32]
 *   descriptor = bits 7-6 FCS field size flag, bit 5 Single_Segment, bit 3 reserved (0), bit 2 checksum,
 *                bits 1-0 Dictionary_ID field size (0, 1, 2, 4 bytes)
 *   window     = exponent (bits 7-3), mantissa (bits 2-0): base = 2^(10+exponent), size = base + base/8 * mantissa;
 *                absent with Single_Segment, where the window is the content size
 *   FCS        = 0 bytes (flag 0, 1 byte if Single_Segment), 2 bytes (+256), 4 bytes, 8 bytes
 *   block      = 3-byte LE header: bit 0 Last_Block, bits 2-1 Block_Type (0 raw, 1 RLE, 2 compressed, 3 reserved),
 *                bits 23-3 Block_Size; a raw block holds Block_Size bytes, an RLE block one byte repeated
 *                Block_Size times, a compressed block Block_Size bytes that decode to at most
 *                Block_Maximum_Size = min(window, 128 KiB)
 *   skippable  = magic 0x184D2A50..5F (LE), u32 LE size, data
 */

const NAME = 'zstd'
export const ZSTD_MAGIC = 0xfd2fb528
const SKIPPABLE_MAGIC = 0x184d2a50
const MAX_BLOCK = 128 * 1024

export interface ZstdFrameSummary {
  /** Upper bound of what the frame decodes to: its content size when declared, else the sum of its block bounds. */
  outputBound: number
  /** Declared content size, -1 when the frame does not declare one. */
  contentSize: number
  /** The window the frame declares (its content size for single-segment frames). */
  window: number
  /** Position of the Window_Descriptor byte in the data, -1 for single-segment frames. */
  windowDescriptorAt: number
}

function u32(data: Uint8Array, i: number): number {
  return (data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24)) >>> 0
}

function need(data: Uint8Array, pos: number, n: number, what: string): void {
  if (data.length - pos < n) throw new CompressionError(NAME, `${what} is truncated`)
}

/**
 * Walks every frame of `data`, checking its structure and bounding what each can decode to (skippable frames are
 * stepped over). Throws DecompressedSizeExceededError as soon as the bounds add up past `maxSize`.
 */
export function summarizeZstdFrames(data: Uint8Array, maxSize: number): ZstdFrameSummary[] {
  const frames: ZstdFrameSummary[] = []
  let pos = 0
  let total = 0
  if (data.length === 0) throw new CompressionError(NAME, 'no frame')
  while (pos < data.length) {
    need(data, pos, 4, 'frame magic')
    const magic = u32(data, pos)
    if ((magic & 0xfffffff0) === SKIPPABLE_MAGIC) {
      need(data, pos + 4, 4, 'skippable frame size')
      const size = u32(data, pos + 4)
      need(data, pos + 8, size, 'skippable frame')
      pos += 8 + size
      continue
    }
    if (magic !== ZSTD_MAGIC) throw new CompressionError(NAME, `bad frame magic 0x${magic.toString(16)}`)
    pos += 4
    need(data, pos, 1, 'frame header')
    const fhd = data[pos++]!
    const fcsFlag = fhd >>> 6
    const singleSegment = (fhd & 0x20) !== 0
    if (fhd & 0x08) throw new CompressionError(NAME, 'reserved frame header bit is set')
    const hasChecksum = (fhd & 0x04) !== 0
    const dictIdBytes = [0, 1, 2, 4][fhd & 3]!
    let window = 0
    let windowDescriptorAt = -1
    if (!singleSegment) {
      need(data, pos, 1, 'window descriptor')
      windowDescriptorAt = pos
      const wd = data[pos++]!
      const base = 2 ** (10 + (wd >>> 3))
      window = base + (base / 8) * (wd & 7)
    }
    need(data, pos, dictIdBytes, 'dictionary id')
    let dictId = 0
    for (let k = 0; k < dictIdBytes; k++) dictId += data[pos + k]! * 2 ** (8 * k)
    pos += dictIdBytes
    if (dictId !== 0)
      throw new CompressionError(NAME, `frame needs dictionary ${dictId}; dictionaries are not supported`)
    const fcsBytes = fcsFlag === 0 ? (singleSegment ? 1 : 0) : 1 << fcsFlag
    need(data, pos, fcsBytes, 'frame content size')
    let contentSize = -1
    if (fcsBytes > 0) {
      contentSize = 0
      for (let k = 0; k < fcsBytes; k++) contentSize += data[pos + k]! * 2 ** (8 * k)
      if (fcsBytes === 2) contentSize += 256
      pos += fcsBytes
      if (total + contentSize > maxSize) throw new DecompressedSizeExceededError(NAME, maxSize)
    }
    if (singleSegment) window = contentSize
    const blockMax = Math.min(window, MAX_BLOCK)
    let blocksBound = 0
    for (let last = false; !last; ) {
      need(data, pos, 3, 'block header')
      const header = data[pos]! | (data[pos + 1]! << 8) | (data[pos + 2]! << 16)
      pos += 3
      last = (header & 1) === 1
      const type = (header >>> 1) & 3
      const size = header >>> 3
      if (type === 3) throw new CompressionError(NAME, 'reserved block type')
      if (size > blockMax) throw new CompressionError(NAME, `block of ${size} bytes exceeds the maximum of ${blockMax}`)
      const stored = type === 1 ? 1 : size
      need(data, pos, stored, 'block')
      pos += stored
      blocksBound += type === 2 ? blockMax : size
      if (contentSize < 0 && total + blocksBound > maxSize) throw new DecompressedSizeExceededError(NAME, maxSize)
    }
    if (hasChecksum) {
      need(data, pos, 4, 'content checksum')
      pos += 4
    }
    const outputBound = contentSize >= 0 ? contentSize : blocksBound
    total += outputBound
    frames.push({ outputBound, contentSize, window, windowDescriptorAt })
  }
  return frames
}

/**
 * `data` with the window of every frame that declares no content size lowered to the smallest window that still
 * covers the frame's output bound (a copy, when anything changes). Decoding is unchanged: without a dictionary a
 * match can only reach back into the frame's own output, which the new window covers. It matters because
 * decoders allocate the declared window up front, and streaming compressors (zstd-jni in the Java client)
 * declare 2 MiB or more however small the batch.
 */
export function shrinkZstdWindows(data: Uint8Array, frames: readonly ZstdFrameSummary[]): Uint8Array {
  let copy: Uint8Array | undefined
  for (const frame of frames) {
    if (frame.contentSize >= 0 || frame.windowDescriptorAt < 0) continue
    let exponent = 0
    while (2 ** (10 + exponent) < frame.outputBound) exponent++
    if (2 ** (10 + exponent) >= frame.window) continue
    copy ??= Uint8Array.from(data)
    copy[frame.windowDescriptorAt] = exponent << 3
  }
  return copy ?? data
}

/**
 * A frame of raw and RLE blocks: valid Zstandard that every decoder reads, without compression. The fallback
 * encoder where the runtime has no zstd compressor (see zstd.ts). Declares its content size and a 128 KiB window,
 * the block size, so decoders need no more memory than one block.
 */
export function encodeStoredZstdFrame(data: Uint8Array): Buffer {
  const blocks = Math.max(1, Math.ceil(data.length / MAX_BLOCK))
  const out = Buffer.allocUnsafe(4 + 2 + 4 + blocks * 3 + data.length)
  out.writeUInt32LE(ZSTD_MAGIC, 0)
  // FCS flag 2 (4-byte content size), not single-segment, no checksum, no dictionary.
  out[4] = 2 << 6
  // Window 2^(10+7) = 128 KiB.
  out[5] = 7 << 3
  out.writeUInt32LE(data.length, 6)
  let d = 10
  let start = 0
  do {
    const end = Math.min(start + MAX_BLOCK, data.length)
    const last = end === data.length ? 1 : 0
    const size = end - start
    if (size > 0 && isRun(data, start, end)) {
      writeBlockHeader(out, d, last, 1, size)
      out[d + 3] = data[start]!
      d += 4
    } else {
      writeBlockHeader(out, d, last, 0, size)
      out.set(data.subarray(start, end), d + 3)
      d += 3 + size
    }
    start = end
  } while (start < data.length)
  return out.subarray(0, d)
}

function writeBlockHeader(out: Buffer, d: number, last: number, type: number, size: number): void {
  const header = last | (type << 1) | (size << 3)
  out[d] = header & 0xff
  out[d + 1] = (header >>> 8) & 0xff
  out[d + 2] = header >>> 16
}

function isRun(data: Uint8Array, start: number, end: number): boolean {
  const b = data[start]
  for (let i = start + 1; i < end; i++) if (data[i] !== b) return false
  return true
}
