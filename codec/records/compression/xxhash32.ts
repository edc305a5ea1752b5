/**
 * XXH32, the checksum of the LZ4 frame format (header, block and content checksums).
 * Algorithm and constants: https://github.com/Cyan4973/xxHash/blob/dev/doc/xxhash_spec.md (section "XXH32").
 * All arithmetic is modulo 2^32: Math.imul for products, `| 0` / `>>> 0` for sums.
 */

const P1 = 0x9e3779b1 | 0
const P2 = 0x85ebca77 | 0
const P3 = 0xc2b2ae3d | 0
const P4 = 0x27d4eb2f | 0
const P5 = 0x165667b1 | 0

function rotl(x: number, r: number): number {
  return (x << r) | (x >>> (32 - r))
}

function lane(data: Uint8Array, i: number): number {
  return data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24)
}

function round(acc: number, input: number): number {
  return Math.imul(rotl((acc + Math.imul(input, P2)) | 0, 13), P1)
}

/** XXH32 of `data[start, end)` with `seed` (0 in LZ4 frames), as an unsigned 32-bit number. */
export function xxhash32(data: Uint8Array, start = 0, end = data.length, seed = 0): number {
  let i = start
  let acc: number
  if (end - start >= 16) {
    let v1 = (seed + P1 + P2) | 0
    let v2 = (seed + P2) | 0
    let v3 = seed | 0
    let v4 = (seed - P1) | 0
    const limit = end - 16
    while (i <= limit) {
      v1 = round(v1, lane(data, i))
      v2 = round(v2, lane(data, i + 4))
      v3 = round(v3, lane(data, i + 8))
      v4 = round(v4, lane(data, i + 12))
      i += 16
    }
    acc = (rotl(v1, 1) + rotl(v2, 7) + rotl(v3, 12) + rotl(v4, 18)) | 0
  } else {
    acc = (seed + P5) | 0
  }
  acc = (acc + (end - start)) | 0
  while (i + 4 <= end) {
    acc = Math.imul(rotl((acc + Math.imul(lane(data, i), P3)) | 0, 17), P4)
    i += 4
  }
  while (i < end) {
    acc = Math.imul(rotl((acc + Math.imul(data[i]!, P5)) | 0, 11), P1)
    i++
  }
  acc ^= acc >>> 15
  acc = Math.imul(acc, P2)
  acc ^= acc >>> 13
  acc = Math.imul(acc, P3)
  acc ^= acc >>> 16
  return acc >>> 0
}
