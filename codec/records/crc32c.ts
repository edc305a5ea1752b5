import { loadNative } from './native-module.js'

/**
 * CRC-32C (Castagnoli), the checksum of record batches v2 (https://kafka.apache.org/documentation/#recordbatch;
 * Java computes it with java.util.zip.CRC32C in clients/src/main/java/org/apache/kafka/common/utils/Crc32C.java).
 * Node's zlib.crc32 is CRC-32/ISO-HDLC (polynomial 0x04C11DB7), a different checksum.
 *
 * `crc32c` is @node-rs/crc32's (Rust, hardware-accelerated where the CPU allows, per its README) when that package
 * loads on this platform, else `crc32cJs` below; chosen once, on first use. Below NATIVE_MIN_BYTES the native call
 * costs more than it saves (BENCHMARKS.md has the crossover), so short ranges stay in JS either way.
 *
 * Parameters (RFC 3720 section 12.1 and appendix B.4): reflected polynomial 0x82F63B78, initial value
 * 0xFFFFFFFF, final XOR 0xFFFFFFFF; the check value of "123456789" is 0xE3069283.
 *
 * Slicing-by-8: eight 256-entry tables let the loop fold eight input bytes per step instead of one. Table k
 * (entries k*256 .. k*256+255 of one flat array, which measured 1.5x faster than eight arrays) holds the CRC
 * contribution of a byte followed by k zero bytes.
 */

const POLY = 0x82f63b78

const T = buildTables()

function buildTables(): Int32Array {
  const t = new Int32Array(8 * 256)
  for (let n = 0; n < 256; n++) {
    let c = n
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ POLY : c >>> 1
    t[n] = c
  }
  for (let k = 1; k < 8; k++) {
    for (let n = 0; n < 256; n++) {
      const c = t[(k - 1) * 256 + n]!
      t[k * 256 + n] = (c >>> 8) ^ t[c & 0xff]!
    }
  }
  return t
}

/** The pure-JS CRC-32C (slicing-by-8), the fallback without the native package. */
export function crc32cJs(data: Uint8Array, crc = 0, start = 0, end = data.length): number {
  let c = ~crc
  let i = start
  const end8 = start + ((end - start) & ~7)
  while (i < end8) {
    // The first four bytes fold into the running CRC (little-endian, as the reflected algorithm reads them);
    // the next four are independent of it.
    const lo = c ^ (data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24))
    c =
      T[1792 + (lo & 0xff)]! ^
      T[1536 + ((lo >>> 8) & 0xff)]! ^
      T[1280 + ((lo >>> 16) & 0xff)]! ^
      T[1024 + (lo >>> 24)]! ^
      T[768 + data[i + 4]!]! ^
      T[512 + data[i + 5]!]! ^
      T[256 + data[i + 6]!]! ^
      T[data[i + 7]!]!
    i += 8
  }
  while (i < end) c = (c >>> 8) ^ T[(c ^ data[i++]!) & 0xff]!
  return ~c >>> 0
}

/**
 * Continues a CRC-32C over `data[start, end)`. `crc` is a previous result (0 to begin), so a checksum can
 * be computed over pieces: crc32c(b, 0, 0, n) === crc32c(b, crc32c(b, 0, 0, k), k, n).
 */
export type Crc32c = (data: Uint8Array, crc?: number, start?: number, end?: number) => number

/** What @node-rs/crc32 exports: crc32c(input, previous result). */
export interface NativeCrc32 {
  crc32c(input: Uint8Array, initialState?: number): number
}

/** Shorter ranges than this are checksummed in JS: a native call costs about as much as 256 bytes in JS. */
export const NATIVE_MIN_BYTES = 256

/** The CRC-32C function over a native binding, or the pure-JS one without it. */
export function selectCrc32c(native: NativeCrc32 | undefined): Crc32c {
  if (native === undefined) return crc32cJs
  const nativeCrc32c = native.crc32c
  return (data, crc = 0, start = 0, end = data.length) => {
    if (end - start < NATIVE_MIN_BYTES) return crc32cJs(data, crc, start, end)
    return nativeCrc32c(start === 0 && end === data.length ? data : data.subarray(start, end), crc)
  }
}

/**
 * The native package is loaded on the first checksum, not with the module: a sidecar that never reads or writes
 * record batches (statistics read batch headers only) does not pay the ~2 MB its binary maps in.
 */
let native: NativeCrc32 | undefined | null = null
let chosen: Crc32c | undefined

function chooseCrc32c(): Crc32c {
  native = loadNative<NativeCrc32>('@node-rs/crc32', ['crc32c'])
  chosen = selectCrc32c(native)
  return chosen
}

/** Which implementation `crc32c` uses: '@node-rs/crc32' or 'js' (loading the native package if not yet done). */
export function crc32cImplementation(): '@node-rs/crc32' | 'js' {
  if (native === null) chooseCrc32c()
  return native === undefined ? 'js' : '@node-rs/crc32'
}

/** CRC-32C with the implementation chosen on first use (see above). */
export const crc32c: Crc32c = (data, crc = 0, start = 0, end = data.length) =>
  (chosen ?? chooseCrc32c())(data, crc, start, end)
