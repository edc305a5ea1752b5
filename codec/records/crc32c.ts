/**
 * CRC-32C (Castagnoli), the checksum of record batches v2 (https://kafka.apache.org/documentation/#recordbatch;
 * Java computes it with java.util.zip.CRC32C in clients/src/main/java/org/apache/kafka/common/utils/Crc32C.java).
 * Node's zlib.crc32 is CRC-32/ISO-HDLC (polynomial 0x04C11DB7), a different checksum, so this one is computed here.
 *
 * Parameters (RFC 3720 section 12.1 and appendix B.4): reflected polynomial 0x82F63B78, initial value
 * 0xFFFFFFFF, final XOR 0xFFFFFFFF; the check value of "123456789" is 0xE3069283.
 *
 * Slicing-by-8: eight 256-entry tables let the loop fold eight input bytes per step instead of one.
 * TABLES[k][b] is the CRC contribution of byte b followed by k zero bytes.
 */

const POLY = 0x82f63b78

const TABLES: readonly Int32Array[] = buildTables()

function buildTables(): Int32Array[] {
  const t0 = new Int32Array(256)
  for (let n = 0; n < 256; n++) {
    let c = n
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ POLY : c >>> 1
    t0[n] = c
  }
  const tables = [t0]
  for (let k = 1; k < 8; k++) {
    const prev = tables[k - 1]!
    const t = new Int32Array(256)
    for (let n = 0; n < 256; n++) {
      const c = prev[n]!
      t[n] = (c >>> 8) ^ t0[c & 0xff]!
    }
    tables.push(t)
  }
  return tables
}

/**
 * Continues a CRC-32C over `data[start, end)`. `crc` is a previous result (0 to begin), so a checksum can
 * be computed over pieces: crc32c(b, 0, n) === crc32c(b, crc32c(b, 0, 0, k), k, n).
 */
export function crc32c(data: Uint8Array, crc = 0, start = 0, end = data.length): number {
  const [t0, t1, t2, t3, t4, t5, t6, t7] = TABLES as [
    Int32Array,
    Int32Array,
    Int32Array,
    Int32Array,
    Int32Array,
    Int32Array,
    Int32Array,
    Int32Array,
  ]
  let c = ~crc
  let i = start
  const end8 = start + ((end - start) & ~7)
  while (i < end8) {
    // The first four bytes fold into the running CRC (little-endian, as the reflected algorithm reads them);
    // the next four are independent of it.
    const lo = c ^ (data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24))
    c =
      t7[lo & 0xff]! ^
      t6[(lo >>> 8) & 0xff]! ^
      t5[(lo >>> 16) & 0xff]! ^
      t4[lo >>> 24]! ^
      t3[data[i + 4]!]! ^
      t2[data[i + 5]!]! ^
      t1[data[i + 6]!]! ^
      t0[data[i + 7]!]!
    i += 8
  }
  while (i < end) c = (c >>> 8) ^ t0[(c ^ data[i++]!) & 0xff]!
  return ~c >>> 0
}
