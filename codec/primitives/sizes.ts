/**
 * Encoded sizes of the Kafka wire forms, for the size pass that precedes every write (see writer.ts).
 * Forms are documented in reader.ts.
 */

export function sizeOfUvarint(v: number): number {
  if (v < 0x80) return 1
  if (v < 0x4000) return 2
  if (v < 0x200000) return 3
  if (v < 0x10000000) return 4
  return 5
}

export function sizeOfVarint(v: number): number {
  return sizeOfUvarint(((v << 1) ^ (v >> 31)) >>> 0)
}

/** Size of Writer.varlongSafe(v) (|v| < 2^52). */
export function sizeOfVarlongSafe(v: number): number {
  let z = v >= 0 ? v * 2 : -v * 2 - 1
  let n = 1
  while (z >= 0x80) {
    z = Math.floor(z / 128)
    n++
  }
  return n
}

export function sizeOfUvarlong(v: bigint): number {
  if (v < 0x10000000n) return sizeOfUvarint(Number(v))
  let n = 1
  while (v >= 0x80n) {
    v >>= 7n
    n++
  }
  return n
}

export function sizeOfVarlong(v: bigint): number {
  return sizeOfUvarlong(BigInt.asUintN(64, (v << 1n) ^ (v >> 63n)))
}

export function sizeOfString(flexible: boolean, v: string): number {
  const n = Buffer.byteLength(v, 'utf8')
  return (flexible ? sizeOfUvarint(n + 1) : 2) + n
}

export function sizeOfNullableString(flexible: boolean, v: string | null): number {
  if (v === null) return flexible ? 1 : 2
  return sizeOfString(flexible, v)
}

export function sizeOfBytes(flexible: boolean, v: Uint8Array): number {
  return (flexible ? sizeOfUvarint(v.length + 1) : 4) + v.length
}

export function sizeOfNullableBytes(flexible: boolean, v: Uint8Array | null): number {
  if (v === null) return flexible ? 1 : 4
  return sizeOfBytes(flexible, v)
}

/** Size of an ARRAY / COMPACT_ARRAY count prefix; -1 is null. */
export function sizeOfArrayLength(flexible: boolean, n: number): number {
  return flexible ? sizeOfUvarint(n + 1) : 4
}
