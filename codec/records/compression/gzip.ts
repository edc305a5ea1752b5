import { constants as bufferConstants } from 'node:buffer'
import { gunzipSync, gzipSync } from 'node:zlib'
import { CompressionError, DecompressedSizeExceededError } from '../../errors.js'

/**
 * gzip (RFC 1952), compression type 1. The Java client writes one member with java.util.zip.GZIPOutputStream
 * (clients/src/main/java/org/apache/kafka/common/compress/GzipCompression.java); zlib reads it, and reads
 * concatenated members as GZIPInputStream does. zlib's maxOutputLength bounds the output: past it zlib stops
 * and reports ERR_BUFFER_TOO_LARGE instead of allocating further.
 */

const NAME = 'gzip'

export function gzipDecompress(data: Uint8Array, maxSize: number): Buffer {
  let out: Buffer
  try {
    // zlib requires 1 <= maxOutputLength <= buffer.constants.MAX_LENGTH; a cap of 0 is checked below.
    out = gunzipSync(data, { maxOutputLength: Math.max(1, Math.min(maxSize, bufferConstants.MAX_LENGTH)) })
  } catch (err) {
    if ((err as { code?: unknown }).code === 'ERR_BUFFER_TOO_LARGE')
      throw new DecompressedSizeExceededError(NAME, maxSize)
    throw new CompressionError(NAME, err instanceof Error ? err.message : String(err), { cause: err })
  }
  if (out.length > maxSize) throw new DecompressedSizeExceededError(NAME, maxSize)
  return out
}

export function gzipCompress(data: Uint8Array): Buffer {
  return gzipSync(data)
}
