import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { crc32c } from '../../../codec/records/crc32c.js'

// Reference: the bitwise definition (reflected polynomial 0x82F63B78), one bit at a time.
function crc32cBitwise(data: Uint8Array): number {
  let c = 0xffffffff
  for (const b of data) {
    c ^= b
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1
  }
  return (c ^ 0xffffffff) >>> 0
}

describe('crc32c', () => {
  // RFC 3720 appendix B.4 and the CRC catalogue's check value.
  it.each([
    ['32 bytes of zeros', Buffer.alloc(32, 0), 0x8a9136aa],
    ['32 bytes of 0xFF', Buffer.alloc(32, 0xff), 0x62a8ab43],
    ['32 incrementing bytes', Buffer.from(Array.from({ length: 32 }, (_, i) => i)), 0x46dd794e],
    ['32 decrementing bytes', Buffer.from(Array.from({ length: 32 }, (_, i) => 31 - i)), 0x113fdb5c],
    ['"123456789"', Buffer.from('123456789'), 0xe3069283],
    ['empty', Buffer.alloc(0), 0],
  ])('%s', (_name, data, expected) => {
    expect(crc32c(data)).toBe(expected)
  })

  it('matches the bitwise definition at every length and alignment', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 100 }), fc.nat(7), (bytes, shift) => {
        const padded = new Uint8Array(bytes.length + shift)
        padded.set(bytes, shift)
        expect(crc32c(padded, 0, shift)).toBe(crc32cBitwise(bytes))
      }),
    )
  })

  it('continues across pieces', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), fc.nat(64), (bytes, at) => {
        const cut = Math.min(at, bytes.length)
        expect(crc32c(bytes, crc32c(bytes, 0, 0, cut), cut)).toBe(crc32c(bytes))
      }),
    )
  })
})
