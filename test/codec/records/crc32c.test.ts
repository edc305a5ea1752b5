import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  type Crc32c,
  crc32c,
  crc32cImplementation,
  crc32cJs,
  NATIVE_MIN_BYTES,
  type NativeCrc32,
  selectCrc32c,
} from '../../../codec/records/crc32c.js'
import { loadNative } from '../../../codec/records/native-module.js'

// Reference: the bitwise definition (reflected polynomial 0x82F63B78), one bit at a time.
function crc32cBitwise(data: Uint8Array): number {
  let c = 0xffffffff
  for (const b of data) {
    c ^= b
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1
  }
  return (c ^ 0xffffffff) >>> 0
}

const native = loadNative<NativeCrc32>('@node-rs/crc32', ['crc32c'])
const IMPLEMENTATIONS: [string, Crc32c][] = [
  ['as selected at load', crc32c],
  ['pure JS (the fallback)', crc32cJs],
  ...(native === undefined ? [] : ([['@node-rs/crc32', selectCrc32c(native)]] as [string, Crc32c][])),
]

describe('the implementation', () => {
  it('is the native package where it loads (it ships a binary for this platform), else the pure-JS one', () => {
    expect(crc32cImplementation()).toBe(native === undefined ? 'js' : '@node-rs/crc32')
    if (process.platform === 'linux' && process.arch === 'x64') expect(crc32cImplementation()).toBe('@node-rs/crc32')
  })

  it('falls back to pure JS when the native package cannot load', () => {
    const missing = loadNative<NativeCrc32>('@node-rs/crc32', ['crc32c'], () => {
      throw new Error('Cannot find native binding')
    })
    expect(missing).toBeUndefined()
    expect(selectCrc32c(missing)).toBe(crc32cJs)
  })
})

describe.each(IMPLEMENTATIONS)('crc32c %s', (_name, crc32c) => {
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

describe.each(IMPLEMENTATIONS)('crc32c %s on ranges either side of the native threshold', (_name, crc32c) => {
  it('matches the bitwise definition and continues across pieces', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: NATIVE_MIN_BYTES - 8, maxLength: 4 * NATIVE_MIN_BYTES }),
        fc.nat(),
        fc.nat(7),
        (bytes, at, shift) => {
          const padded = new Uint8Array(bytes.length + shift + 3)
          padded.set(bytes, shift)
          const whole = crc32c(padded, 0, shift, shift + bytes.length)
          expect(whole).toBe(crc32cBitwise(bytes))
          const cut = shift + (at % (bytes.length + 1))
          expect(crc32c(padded, crc32c(padded, 0, shift, cut), cut, shift + bytes.length)).toBe(whole)
        },
      ),
      { numRuns: 200 },
    )
  })
})
