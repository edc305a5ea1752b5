import { CompressionError, DecompressedSizeExceededError } from '../../errors.js'
import { loadNative } from '../native-module.js'
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
 *
 * The raw blocks inside are compressed and decompressed by @napi-rs/snappy (Rust, the `snap` crate) when that
 * package loads on this platform, else by the pure-JS block codec of snappy-block.ts; chosen once, on first use. The
 * framing and every check against a decompression bomb (declared lengths against the cap and against what the
 * input can expand to) stay here, before either block decoder allocates anything. The native package returns each
 * block in a buffer of its own that Node frees from the event loop (its N-API finalizer runs there, not inside the
 * garbage collection): decoding one batch holds its blocks until the current turn ends, at most the cap again.
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

/** What @napi-rs/snappy exports: raw blocks in and out. */
export interface NativeSnappy {
  compressSync(input: Uint8Array): Buffer
  uncompressSync(compressed: Buffer): Buffer
}

export interface SnappyCodec {
  readonly implementation: '@napi-rs/snappy' | 'js'
  decompress(data: Uint8Array, maxSize: number): Buffer
  compress(data: Uint8Array): Buffer
}

/** The snappy codec over a native binding for raw blocks, or over the pure-JS block codec without it. */
export function createSnappyCodec(native: NativeSnappy | undefined): SnappyCodec {
  const blocks = native === undefined ? JS_BLOCKS : nativeBlocks(native)
  return Object.freeze({
    implementation: native === undefined ? 'js' : '@napi-rs/snappy',
    decompress: (data: Uint8Array, maxSize: number) =>
      isXerialFramed(data) ? decompressXerial(blocks, data, maxSize) : decompressRaw(blocks, data, maxSize),
    compress: (data: Uint8Array) => compressXerial(blocks, data),
  })
}

/** Raw block coding; the caller has checked every declared length. */
interface BlockCodec {
  /** Decodes the block data[start, end) that declares `length` bytes into out[at, at + length). */
  decodeInto(data: Uint8Array, start: number, end: number, length: number, out: Buffer, at: number): void
  /** Decodes the block data[start, end) that declares `length` bytes into a buffer of its own. */
  decode(data: Uint8Array, start: number, end: number, length: number): Buffer
  /** Encodes data[start, end) as one raw block. */
  encode(data: Uint8Array, start: number, end: number): Uint8Array
}

const JS_BLOCKS: BlockCodec = {
  decodeInto: (data, start, end, length, out, at) => {
    decodeSnappyBlock(data, start, end, out, at, length)
  },
  decode: (data, start, end, length) => {
    const out = Buffer.allocUnsafe(length)
    decodeSnappyBlock(data, start, end, out, 0, length)
    return out
  },
  encode: (data, start, end) => {
    const out = Buffer.allocUnsafe(maxSnappyBlockSize(end - start))
    return out.subarray(0, encodeSnappyBlock(data, start, end, out, 0))
  },
}

/**
 * Blocks that declare fewer bytes than this are decoded in JS even with the native package: below about 4 KiB its
 * call and the buffer it returns cost more than the JS decoder takes (BENCHMARKS.md). Compression has no such point.
 */
export const NATIVE_MIN_DECODE_BYTES = 4096

function nativeBlocks(native: NativeSnappy): BlockCodec {
  const decode = (data: Uint8Array, start: number, end: number, length: number): Buffer => {
    if (length < NATIVE_MIN_DECODE_BYTES) return JS_BLOCKS.decode(data, start, end, length)
    let out: Buffer
    try {
      out = native.uncompressSync(view(data, start, end))
    } catch (err) {
      throw new CompressionError(NAME, err instanceof Error ? err.message : String(err), { cause: err })
    }
    // The decoder checks the output against the block's own preamble; this is the length the caps were checked on.
    if (out.length !== length) throw new CompressionError(NAME, `block decoded to ${out.length} bytes, not ${length}`)
    return out
  }
  return {
    decode,
    decodeInto: (data, start, end, length, out, at) => {
      if (length < NATIVE_MIN_DECODE_BYTES) JS_BLOCKS.decodeInto(data, start, end, length, out, at)
      else out.set(decode(data, start, end, length), at)
    },
    encode: (data, start, end) => native.compressSync(view(data, start, end)),
  }
}

function view(data: Uint8Array, start: number, end: number): Buffer {
  return Buffer.from(data.buffer, data.byteOffset + start, end - start)
}

/** The declared length of the raw block data[start, end), refused when past the cap or impossible for its size. */
function declaredLength(data: Uint8Array, start: number, end: number): number {
  const [length] = snappyUncompressedLength(data, start, end)
  if (length > MAX_EXPANSION * (end - start))
    throw new CompressionError(NAME, `declared length ${length} is impossible for ${end - start} input bytes`)
  return length
}

function decompressRaw(blocks: BlockCodec, data: Uint8Array, maxSize: number): Buffer {
  const [length] = snappyUncompressedLength(data, 0, data.length)
  if (length > maxSize) throw new DecompressedSizeExceededError(NAME, maxSize)
  return blocks.decode(data, 0, data.length, declaredLength(data, 0, data.length))
}

function decompressXerial(blocks: BlockCodec, data: Uint8Array, maxSize: number): Buffer {
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
    const length = declaredLength(data, pos, pos + chunkLength)
    total += length
    if (total > maxSize) throw new DecompressedSizeExceededError(NAME, maxSize)
    chunks.push(pos, pos + chunkLength, length)
    pos += chunkLength
  }
  if (chunks.length === 3) return blocks.decode(data, chunks[0]!, chunks[1]!, chunks[2]!)
  const out = Buffer.allocUnsafe(total)
  let d = 0
  for (let i = 0; i < chunks.length; i += 3) {
    blocks.decodeInto(data, chunks[i]!, chunks[i + 1]!, chunks[i + 2]!, out, d)
    d += chunks[i + 2]!
  }
  return out
}

function compressXerial(blocks: BlockCodec, data: Uint8Array): Buffer {
  const encoded: Uint8Array[] = []
  let size = XERIAL_HEADER_SIZE
  for (let start = 0; start < data.length; start += XERIAL_CHUNK) {
    const block = blocks.encode(data, start, Math.min(start + XERIAL_CHUNK, data.length))
    encoded.push(block)
    size += 4 + block.length
  }
  const out = Buffer.allocUnsafe(size)
  out.set(XERIAL_MAGIC, 0)
  out.writeInt32BE(XERIAL_VERSION, 8)
  out.writeInt32BE(XERIAL_MIN_COMPATIBLE_VERSION, 12)
  let d = XERIAL_HEADER_SIZE
  for (const block of encoded) {
    out.writeInt32BE(block.length, d)
    out.set(block, d + 4)
    d += 4 + block.length
  }
  return out
}

/** Chosen on first use, not with the module: a sidecar that never decompresses snappy does not map the binary in. */
let selected: SnappyCodec | undefined
const codec = (): SnappyCodec =>
  (selected ??= createSnappyCodec(loadNative<NativeSnappy>('@napi-rs/snappy', ['compressSync', 'uncompressSync'])))

/** Which implementation codes the raw blocks: '@napi-rs/snappy' or 'js'. */
export const snappyImplementation = (): SnappyCodec['implementation'] => codec().implementation
export const snappyDecompress = (data: Uint8Array, maxSize: number): Buffer => codec().decompress(data, maxSize)
export const snappyCompress = (data: Uint8Array): Buffer => codec().compress(data)
