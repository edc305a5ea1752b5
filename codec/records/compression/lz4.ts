import { CompressionError, DecompressedSizeExceededError } from '../../errors.js'
import { BoundedOutput } from './bounded-output.js'
import { decodeLz4Block, encodeLz4Block, LZ4_OUTPUT_FULL, maxLz4BlockSize } from './lz4-block.js'
import { xxhash32 } from './xxhash32.js'

/**
 * LZ4 frames (https://github.com/lz4/lz4/blob/dev/doc/lz4_Frame_format.md), what record batches v2 carry for
 * compression type 3 (KIP-57 fixed the header checksum for magic >= 1; the Java client writes frames with
 * clients/src/main/java/org/apache/kafka/common/compress/Lz4BlockOutputStream.java):
 *
 *   magic 0x184D2204 (LE)  FLG  BD  [content size u64 LE]  [dictionary id u32 LE]  HC
 *   block* : u32 LE size (high bit set = stored uncompressed; 0 = end mark)  data  [xxh32 of data]
 *   [xxh32 of the whole content]
 *
 *   FLG: bits 7-6 version (01), bit 5 block independence, bit 4 block checksum, bit 3 content size,
 *        bit 2 content checksum, bit 1 reserved, bit 0 dictionary id.
 *   BD:  bits 6-4 block maximum size (4: 64 KiB, 5: 256 KiB, 6: 1 MiB, 7: 4 MiB), other bits reserved.
 *   HC:  (xxh32(FLG..last descriptor byte) >> 8) & 0xFF.
 *
 * Frames may be concatenated, and skippable frames (magic 0x184D2A50..5F, u32 LE size, data) may sit among them.
 */

const NAME = 'lz4'
const MAGIC = 0x184d2204
const SKIPPABLE_MAGIC = 0x184d2a50
const FLG_VERSION = 0x40
const FLG_INDEPENDENT = 0x20
const FLG_BLOCK_CHECKSUM = 0x10
const FLG_CONTENT_SIZE = 0x08
const FLG_CONTENT_CHECKSUM = 0x04
const FLG_DICT_ID = 0x01
const UNCOMPRESSED_BIT = 0x80000000

// What the Java client writes: 64 KiB independent blocks, no checksums besides the header's
// (Lz4BlockOutputStream defaults: BLOCKSIZE_64KB, blockIndependence true, blockChecksum false).
const ENCODE_BLOCK_SIZE = 64 * 1024
const ENCODE_BD = 4 << 4

function u32(data: Uint8Array, i: number): number {
  return (data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24)) >>> 0
}

function need(data: Uint8Array, pos: number, n: number, what: string): void {
  if (data.length - pos < n) throw new CompressionError(NAME, `${what} is truncated`)
}

export function lz4Decompress(data: Uint8Array, maxSize: number): Buffer {
  const out = new BoundedOutput(NAME, maxSize, Math.min(data.length * 3, maxSize))
  let pos = 0
  do {
    need(data, pos, 4, 'frame magic')
    const magic = u32(data, pos)
    if ((magic & 0xfffffff0) === SKIPPABLE_MAGIC) {
      need(data, pos + 4, 4, 'skippable frame size')
      const size = u32(data, pos + 4)
      need(data, pos + 8, size, 'skippable frame')
      pos += 8 + size
      continue
    }
    if (magic !== MAGIC) throw new CompressionError(NAME, `bad frame magic 0x${magic.toString(16)}`)
    pos = decodeFrame(data, pos + 4, out)
  } while (pos < data.length)
  return out.result()
}

/** Decodes one frame whose descriptor starts at `pos`; returns the position after the frame. */
function decodeFrame(data: Uint8Array, pos: number, out: BoundedOutput): number {
  need(data, pos, 3, 'frame descriptor')
  const descriptorStart = pos
  const flg = data[pos++]!
  const bd = data[pos++]!
  if ((flg & 0xc0) !== FLG_VERSION) throw new CompressionError(NAME, `unsupported frame version ${flg >>> 6}`)
  if ((flg & 0x02) !== 0 || (bd & 0x8f) !== 0) throw new CompressionError(NAME, 'reserved descriptor bits are set')
  if (flg & FLG_DICT_ID) throw new CompressionError(NAME, 'frames compressed with a dictionary are not supported')
  const blockSizeId = (bd >>> 4) & 7
  if (blockSizeId < 4) throw new CompressionError(NAME, `invalid block maximum size id ${blockSizeId}`)
  const blockMax = 1 << (8 + 2 * blockSizeId)
  let contentSize = -1
  if (flg & FLG_CONTENT_SIZE) {
    need(data, pos, 9, 'frame content size')
    const high = u32(data, pos + 4)
    const low = u32(data, pos)
    if (high !== 0 || low > out.room) throw new DecompressedSizeExceededError(NAME, out.max)
    contentSize = low
    pos += 8
  }
  need(data, pos, 1, 'frame header checksum')
  const hc = (xxhash32(data, descriptorStart, pos) >>> 8) & 0xff
  if (data[pos] !== hc) throw new CompressionError(NAME, 'frame header checksum mismatch')
  pos++

  const contentStart = out.length
  const independent = (flg & FLG_INDEPENDENT) !== 0
  for (;;) {
    need(data, pos, 4, 'block size')
    const word = u32(data, pos)
    pos += 4
    if (word === 0) break
    const size = word & ~UNCOMPRESSED_BIT
    if (size > blockMax) throw new CompressionError(NAME, `block of ${size} bytes exceeds the frame's ${blockMax}`)
    need(data, pos, size, 'block')
    if (flg & FLG_BLOCK_CHECKSUM) {
      need(data, pos + size, 4, 'block checksum')
      if (xxhash32(data, pos, pos + size) !== u32(data, pos + size))
        throw new CompressionError(NAME, 'block checksum mismatch')
    }
    if (word & UNCOMPRESSED_BIT) {
      out.reserve(size)
      out.buf.set(data.subarray(pos, pos + size), out.length)
      out.length += size
    } else {
      const room = Math.min(blockMax, out.room)
      out.reserve(room)
      const end = decodeLz4Block(
        data,
        pos,
        pos + size,
        out.buf,
        out.length,
        out.length + room,
        independent ? out.length : contentStart,
      )
      if (end === LZ4_OUTPUT_FULL) {
        if (room < blockMax) throw new DecompressedSizeExceededError(NAME, out.max)
        throw new CompressionError(NAME, `block decompresses past the frame's maximum block size ${blockMax}`)
      }
      out.length = end
    }
    pos += size + (flg & FLG_BLOCK_CHECKSUM ? 4 : 0)
  }
  if (contentSize >= 0 && out.length - contentStart !== contentSize)
    throw new CompressionError(
      NAME,
      `frame declared ${contentSize} bytes of content but held ${out.length - contentStart}`,
    )
  if (flg & FLG_CONTENT_CHECKSUM) {
    need(data, pos, 4, 'content checksum')
    if (xxhash32(out.buf, contentStart, out.length) !== u32(data, pos))
      throw new CompressionError(NAME, 'content checksum mismatch')
    pos += 4
  }
  return pos
}

export function lz4Compress(data: Uint8Array): Buffer {
  const blocks = Math.ceil(data.length / ENCODE_BLOCK_SIZE)
  // Magic, FLG, BD, HC, per block a size word and the block's worst case, the end mark.
  const out = Buffer.allocUnsafe(7 + blocks * 4 + maxLz4BlockSize(data.length) + 16 * blocks + 4)
  out.writeUInt32LE(MAGIC, 0)
  out[4] = FLG_VERSION | FLG_INDEPENDENT
  out[5] = ENCODE_BD
  out[6] = (xxhash32(out, 4, 6) >>> 8) & 0xff
  let d = 7
  const table = new Int32Array(1 << 12)
  for (let start = 0; start < data.length; start += ENCODE_BLOCK_SIZE) {
    const end = Math.min(start + ENCODE_BLOCK_SIZE, data.length)
    const blockEnd = encodeLz4Block(data, start, end, out, d + 4, table)
    const size = blockEnd - d - 4
    if (size < end - start) {
      out.writeUInt32LE(size, d)
      d = blockEnd
    } else {
      // Incompressible: store the bytes as they are, as the format allows.
      out.writeUInt32LE(((end - start) | UNCOMPRESSED_BIT) >>> 0, d)
      out.set(data.subarray(start, end), d + 4)
      d += 4 + end - start
    }
  }
  out.writeUInt32LE(0, d)
  return out.subarray(0, d + 4)
}
