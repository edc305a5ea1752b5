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
 * Compression, chosen once when this module loads: node:zlib's zstdCompressSync where the runtime has it
 * (Node >= 22.15 and >= 23.8), else the zstd library compiled to WebAssembly (@bokuweb/zstd-wasm, whose
 * instance must be initialised asynchronously: this module awaits it at load, so every importer sees a ready
 * compressor and compress() stays synchronous). Only if neither loads does it write stored frames (raw/RLE blocks:
 * valid zstd every decoder reads, uncompressed). Level 3 in both, the level Kafka's clients use by default
 * (CompressionType.ZSTD.DEFAULT_LEVEL, ZSTD_CLEVEL_DEFAULT). The WebAssembly heap grows to hold the largest input
 * compressed so far and is not given back.
 */

const NAME = 'zstd'
/** Kafka's default zstd level (clients/src/main/java/org/apache/kafka/common/record/CompressionType.java). */
export const ZSTD_LEVEL = 3

export type ZstdCompressorName = 'node:zlib' | '@bokuweb/zstd-wasm' | 'stored'

export interface ZstdCompressor {
  readonly name: ZstdCompressorName
  compress(data: Uint8Array): Buffer
}

type ZstdCompressSync = (data: Uint8Array, options?: { params?: Record<number, number> }) => Buffer

/** What @bokuweb/zstd-wasm exports (of it). */
export interface ZstdWasm {
  init(): Promise<void>
  createCCtx(): number
  /** ZSTD_compress_usingDict; an empty dictionary is none: the frame is what ZSTD_compressCCtx writes. */
  compressUsingDict(cctx: number, data: Uint8Array, dict: Uint8Array, level?: number): Uint8Array
}

/** ZSTD_c_compressionLevel (zstd.h), the parameter key node:zlib passes through. */
const ZSTD_C_COMPRESSION_LEVEL =
  (zlib.constants as unknown as { ZSTD_c_compressionLevel?: number }).ZSTD_c_compressionLevel ?? 100

const storedFrames: ZstdCompressor = { name: 'stored', compress: encodeStoredZstdFrame }

/**
 * The compressor: node:zlib's when `nodeZstd` is given, else the WebAssembly one `loadWasm` gives once
 * initialised, else stored frames (loadWasm failing, as on a runtime without WebAssembly).
 */
export async function selectZstdCompressor(
  nodeZstd: ZstdCompressSync | undefined,
  loadWasm: () => Promise<ZstdWasm>,
): Promise<ZstdCompressor> {
  if (nodeZstd !== undefined) {
    const params = { [ZSTD_C_COMPRESSION_LEVEL]: ZSTD_LEVEL }
    return { name: 'node:zlib', compress: (data) => nodeZstd(data, { params }) }
  }
  let wasm: ZstdWasm
  let cctx: number
  try {
    wasm = await loadWasm()
    await wasm.init()
    // One compression context for every call (the codec is synchronous, so calls never overlap): the package's
    // plain compress() makes and frees one per call, which doubled the time for a 16 KiB batch.
    cctx = wasm.createCCtx()
  } catch {
    return storedFrames
  }
  const noDictionary = new Uint8Array(0)
  return {
    name: '@bokuweb/zstd-wasm',
    compress: (data) => {
      const out = wasm.compressUsingDict(cctx, data, noDictionary, ZSTD_LEVEL)
      return Buffer.from(out.buffer, out.byteOffset, out.byteLength)
    },
  }
}

/**
 * node:zlib's zstd is used at once where Node has it (22.15+). Otherwise the WebAssembly compressor is loaded on the
 * first compression, not with the module: it takes ~8 MB of RSS and 20 ms that a sidecar which never writes zstd
 * batches should not pay. Until it is ready, compress() writes stored frames (valid zstd, uncompressed), so a
 * caller that wants every batch compressed awaits prepareZstdCompression() first (the upstream client does when
 * its compression is zstd).
 */
const nodeZstd = (zlib as unknown as { zstdCompressSync?: ZstdCompressSync }).zstdCompressSync
let compressor: ZstdCompressor = storedFrames
let preparing: Promise<void> | undefined

export function prepareZstdCompression(): Promise<void> {
  preparing ??= selectZstdCompressor(nodeZstd, async () => (await import('@bokuweb/zstd-wasm')) as ZstdWasm).then(
    (chosen) => {
      compressor = chosen
    },
  )
  return preparing
}

if (nodeZstd !== undefined) void prepareZstdCompression()

/** Which compressor compress() uses now: 'node:zlib', '@bokuweb/zstd-wasm', or 'stored' (not prepared yet, or none loads). */
export function zstdCompressorName(): ZstdCompressorName {
  return compressor.name
}

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
  if (preparing === undefined) void prepareZstdCompression()
  return compressor.compress(data)
}
