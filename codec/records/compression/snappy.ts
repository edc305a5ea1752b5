import { CompressionError, DecompressedSizeExceededError } from '../../errors.js'
import { decodeSnappyBlock, encodeSnappyBlock, maxSnappyBlockSize, snappyUncompressedLength } from './snappy-block.js'

/**
 * Snappy as Kafka clients write it. Two framings are in the wild and a reader must take both:
 *
 * - xerial (the Java client: SnappyOutputStream of org.xerial.snappy, used by
 *   clients/src/main/java/org/apache/kafka/common/compress/SnappyCompression.java):
 *     magic 0x82 'S' 'N' 'A' 'P' 'P' 'Y' 0x00, int32 version (1), int32 minimum compatible version (1),
 *     then chunks of [int32 big-endian compressed length][raw snappy block], each block independent.
 *   (snappy-java's SnappyCodec.MAGIC_HEADER / SnappyOutputStream, default chunk size 32 KiB.)
 * - raw: one raw snappy block, as librdkafka writes (src/rdkafka_msgset_writer.c compresses with
 *   rd_kafka_snappy_compress_iov; its reader src/snappy.c rd_kafka_snappy_java_uncompress tells the two
 *   apart by the same 8-byte magic, and so does snappy-java's SnappyInputStream).
 *
 * Compression writes the xerial framing: it is what the Java client writes and every client reads.
 */

const NAME = 'snappy'
const XERIAL_MAGIC = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00])
const XERIAL_HEADER_SIZE = 16
const XERIAL_VERSION = 1
const XERIAL_MIN_COMPATIBLE_VERSION = 1
// snappy-java's SnappyOutputStream.DEFAULT_BLOCK_SIZE; each chunk is compressed on its own.
const XERIAL_CHUNK = 32 * 1024
// The densest element is a 3-byte copy of 64 bytes, so a block cannot expand more than 22-fold: a preamble
// declaring more is a lie, refused before anything is allocated for it.
const MAX_EXPANSION = 22

export function isXerialFramed(data: Uint8Array): boolean {
  if (data.length < XERIAL_MAGIC.length) return false
  for (let i = 0; i < XERIAL_MAGIC.length; i++) if (data[i] !== XERIAL_MAGIC[i]) return false
  return true
}

export function snappyDecompress(data: Uint8Array, maxSize: number): Buffer {
  return isXerialFramed(data) ? decompressXerial(data, maxSize) : decompressRaw(data, maxSize)
}

function decompressRaw(data: Uint8Array, maxSize: number): Buffer {
  const [length] = snappyUncompressedLength(data, 0, data.length)
  if (length > maxSize) throw new DecompressedSizeExceededError(NAME, maxSize)
  if (length > MAX_EXPANSION * data.length)
    throw new CompressionError(NAME, `declared length ${length} is impossible for ${data.length} input bytes`)
  const out = Buffer.allocUnsafe(length)
  decodeSnappyBlock(data, 0, data.length, out, 0, maxSize)
  return out
}

function decompressXerial(data: Uint8Array, maxSize: number): Buffer {
  if (data.length < XERIAL_HEADER_SIZE) throw new CompressionError(NAME, 'xerial header is truncated')
  const view = Buffer.from(data.buffer, data.byteOffset, data.byteLength)
  // First pass: find the chunks and add up the lengths they declare, so the output is allocated once, at its
  // exact size, and only after that size has been checked against the cap.
  const chunks: number[] = []
  let total = 0
  for (let pos = XERIAL_HEADER_SIZE; pos < data.length; ) {
    if (data.length - pos < 4) throw new CompressionError(NAME, 'xerial chunk length is truncated')
    const chunkLength = view.readInt32BE(pos)
    pos += 4
    if (chunkLength < 0 || chunkLength > data.length - pos)
      throw new CompressionError(NAME, `xerial chunk length ${chunkLength} runs past the end of the data`)
    const [length] = snappyUncompressedLength(data, pos, pos + chunkLength)
    if (length > MAX_EXPANSION * chunkLength)
      throw new CompressionError(NAME, `declared length ${length} is impossible for ${chunkLength} input bytes`)
    total += length
    if (total > maxSize) throw new DecompressedSizeExceededError(NAME, maxSize)
    chunks.push(pos, pos + chunkLength)
    pos += chunkLength
  }
  const out = Buffer.allocUnsafe(total)
  let d = 0
  for (let i = 0; i < chunks.length; i += 2) d += decodeSnappyBlock(data, chunks[i]!, chunks[i + 1]!, out, d, maxSize)
  return out
}

export function snappyCompress(data: Uint8Array): Buffer {
  const chunks = Math.ceil(data.length / XERIAL_CHUNK)
  // Header, a length per chunk and each chunk's worst case (maxSnappyBlockSize summed over the chunks).
  const out = Buffer.allocUnsafe(XERIAL_HEADER_SIZE + chunks * 4 + maxSnappyBlockSize(data.length) + 32 * chunks)
  out.set(XERIAL_MAGIC, 0)
  out.writeInt32BE(XERIAL_VERSION, 8)
  out.writeInt32BE(XERIAL_MIN_COMPATIBLE_VERSION, 12)
  let d = XERIAL_HEADER_SIZE
  for (let start = 0; start < data.length; start += XERIAL_CHUNK) {
    const end = Math.min(start + XERIAL_CHUNK, data.length)
    const blockStart = d + 4
    const blockEnd = encodeSnappyBlock(data, start, end, out, blockStart)
    out.writeInt32BE(blockEnd - blockStart, d)
    d = blockEnd
  }
  return out.subarray(0, d)
}
