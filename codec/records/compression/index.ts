import { UnsupportedCompressionError } from '../../errors.js'
import { gzipCompress, gzipDecompress } from './gzip.js'
import { lz4Compress, lz4Decompress } from './lz4.js'
import { snappyCompress, snappyDecompress } from './snappy.js'
import { zstdCompress, zstdDecompress } from './zstd.js'

/**
 * Compression types of record batches: attribute bits 0-2 (https://kafka.apache.org/documentation/#recordbatch;
 * clients/src/main/java/org/apache/kafka/common/record/CompressionType.java). 5-7 are unassigned.
 */
export const CompressionType = { None: 0, Gzip: 1, Snappy: 2, Lz4: 3, Zstd: 4 } as const
export type CompressionType = (typeof CompressionType)[keyof typeof CompressionType]

/**
 * Default cap on the decompressed size of one batch's records. The broker's own limits (message.max.bytes,
 * 1 MiB by default) apply to the compressed size, so a legitimate batch can decompress well past them;
 * 64 MiB leaves room for that while a decompression bomb still fails fast.
 */
export const DEFAULT_MAX_DECOMPRESSED_SIZE = 64 * 1024 * 1024

export interface CompressionCodec {
  readonly type: CompressionType
  readonly name: 'none' | 'gzip' | 'snappy' | 'lz4' | 'zstd'
  /**
   * Decompresses a batch's records section. Bad data throws CompressionError; output past `maxSize` bytes
   * throws DecompressedSizeExceededError before more than about `maxSize` bytes are allocated.
   * The result may be a view of `data` (none) or of a larger buffer: do not write to it.
   */
  decompress(data: Uint8Array, maxSize?: number): Buffer
  /** Compresses in the form the Java client writes (see each module). */
  compress(data: Uint8Array): Buffer
}

function asBuffer(data: Uint8Array): Buffer {
  return Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength)
}

function codec(
  type: CompressionType,
  name: CompressionCodec['name'],
  decompress: (data: Uint8Array, maxSize: number) => Buffer,
  compress: (data: Uint8Array) => Buffer,
): CompressionCodec {
  return Object.freeze({
    type,
    name,
    decompress: (data: Uint8Array, maxSize = DEFAULT_MAX_DECOMPRESSED_SIZE) => decompress(data, maxSize),
    compress,
  })
}

const CODECS: readonly CompressionCodec[] = [
  // Uncompressed records are a view of the batch itself: nothing is allocated, so there is nothing to cap.
  codec(CompressionType.None, 'none', asBuffer, asBuffer),
  codec(CompressionType.Gzip, 'gzip', gzipDecompress, gzipCompress),
  codec(CompressionType.Snappy, 'snappy', snappyDecompress, snappyCompress),
  codec(CompressionType.Lz4, 'lz4', lz4Decompress, lz4Compress),
  codec(CompressionType.Zstd, 'zstd', zstdDecompress, zstdCompress),
]

/** The codec for a compression type (attribute bits 0-2); UnsupportedCompressionError for 5-7. */
export function compressionCodec(type: number): CompressionCodec {
  const c = CODECS[type]
  if (c === undefined) throw new UnsupportedCompressionError(type)
  return c
}

export { snappyImplementation } from './snappy.js'
export { prepareZstdCompression, type ZstdCompressorName, zstdCompressorName } from './zstd.js'
