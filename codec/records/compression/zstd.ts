import * as zlib from 'node:zlib'
import { decompress as fzstdDecompress } from 'fzstd'
import { CodecError, CompressionError } from '../../errors.js'
import { encodeStoredZstdFrame, shrinkZstdWindows, summarizeZstdFrames } from './zstd-frame.js'

/**
 * Zstandard (RFC 8878), compression type 4 (KIP-110). The Java client writes one frame with zstd-jni's streaming
 * compressor (clients/src/main/java/org/apache/kafka/common/compress/ZstdCompression.java); librdkafka writes one
 * frame with ZSTD_compressStream2.
 *
 * Decompression: fzstd, a pure-JavaScript decoder (no native code, nothing fetched at install). It trusts frame
 * headers when it allocates (a frame without a content size gets a buffer the size of its window, and each block
 * shifts that whole window), so every frame is walked first (zstd-frame.ts): the bound on its output must fit the
 * cap, and a declared window larger than that bound is lowered to it. Memory then stays within about twice the
 * cap, and a 1 KiB batch from the Java client (which declares a 2 MiB window) decodes without touching 2 MiB.
 * A frame with a wrong content size or checksum is not detected by fzstd; the records decoded from it then fail
 * their own length checks, or are garbage the broker would reject too.
 *
 * Compression: node:zlib's zstdCompressSync where the runtime has it (Node >= 22.15 and >= 23.8), the zstd
 * library itself. On Node 20 there is no compressor without native code or a large WebAssembly blob that must
 * be loaded asynchronously (zstd-codec, @bokuweb/zstd-wasm, @hpcc-js/wasm-zstd): there the codec writes a valid
 * frame of raw/RLE blocks, uncompressed but readable by every zstd decoder. Re-encoding to zstd on Node 20
 * therefore does not shrink the batch.
 */

const NAME = 'zstd'

type ZstdCompressSync = (data: Uint8Array) => Buffer
const nativeCompress = (zlib as unknown as { zstdCompressSync?: ZstdCompressSync }).zstdCompressSync

/** True when compression goes through the real zstd library (false: stored frames, see above). */
export const zstdCompressesNatively = typeof nativeCompress === 'function'

export function zstdDecompress(data: Uint8Array, maxSize: number): Buffer {
  const frames = summarizeZstdFrames(data, maxSize)
  let out: Uint8Array
  try {
    out = fzstdDecompress(shrinkZstdWindows(data, frames))
  } catch (err) {
    if (err instanceof CodecError) throw err
    throw new CompressionError(NAME, err instanceof Error ? err.message : String(err), { cause: err })
  }
  return Buffer.from(out.buffer, out.byteOffset, out.byteLength)
}

export function zstdCompress(data: Uint8Array): Buffer {
  return nativeCompress ? nativeCompress(data) : encodeStoredZstdFrame(data)
}
