import { describe, expect, it } from 'vitest'
import {
  beginPayload,
  scanString,
  stringEscaped,
  stringNonAscii,
} from '../../../filters/schema-validation/validators/json-skip-lexer.js'

/**
 * scanString reads eight bytes a step and finds where a string stops being plain from the word's mask
 * (json-skip-lexer.ts): every position of every kind of byte that ends the plain run, at every alignment, must give
 * what JSON.parse makes of the same token.
 */

/** What JSON.parse says of the token at `start` of `text` (latin1 bytes read as UTF-8): its end, or -1. */
function reference(bytes: Buffer, start: number, end: number): { end: number; escaped: boolean; nonAscii: boolean } {
  // The shortest prefix from the opening quote that JSON.parse takes as a string is the token.
  for (let stop = start + 2; stop <= end; stop++) {
    if (bytes[stop - 1] !== 0x22) continue
    const token = bytes.subarray(start, stop)
    let ok = true
    try {
      JSON.parse(token.toString('utf8'))
    } catch {
      ok = false
    }
    // A lone closing quote that JSON.parse refuses ends nothing: an escaped quote is inside; keep looking.
    if (!ok) continue
    // JSON.parse takes ill-formed UTF-8 (as U+FFFD); the lexer must not: such a token is not certain.
    const wellFormed = Buffer.from(token.toString('utf8'), 'utf8').equals(token)
    if (!wellFormed) return { end: -1, escaped: false, nonAscii: false }
    return { end: stop, escaped: token.includes(0x5c), nonAscii: token.some((b) => b >= 0x80) }
  }
  return { end: -1, escaped: false, nonAscii: false }
}

describe('scanString', () => {
  it('finds the end of a string whatever byte ends its plain run, at every position and alignment', () => {
    const ends = [
      [0x22],
      [0x5c, 0x22, 0x22],
      [0x5c, 0x6e, 0x22],
      [0x5c, 0x75, 0x30, 0x30, 0x34, 0x31, 0x22],
      [0x5c, 0x78, 0x22],
      [0x01, 0x22],
      [0x1f, 0x22],
      [0x7f, 0x22],
      [0xc3, 0xa9, 0x22],
      [0xff, 0x22],
      [0xe2, 0x82, 0x22],
      [0x20, 0x21, 0x23, 0x22],
    ]
    let checked = 0
    for (let before = 0; before < 8; before++) {
      for (let plain = 0; plain < 20; plain++) {
        for (const end of ends) {
          for (let after = 0; after < 10; after += 3) {
            // `before` bytes of another record, the token, then bytes that could seem to continue it.
            const body = Array.from({ length: plain }, (_, i) => 0x61 + (i % 26))
            const token = [0x22, ...body, ...end]
            const bytes = Buffer.from([...Array(before).fill(0x22), ...token, ...Array(after).fill(0x22)])
            const start = before
            const stop = before + token.length
            beginPayload(bytes, start, stop)
            const got = scanString(bytes, start)
            const want = reference(bytes, start, stop)
            const label = `${JSON.stringify(Buffer.from(token).toString('latin1'))} at ${before}`
            expect(got, label).toBe(want.end)
            if (got >= 0) {
              expect(stringEscaped, label).toBe(want.escaped)
              expect(stringNonAscii, label).toBe(want.nonAscii)
            }
            checked++
          }
        }
      }
    }
    expect(checked).toBe(8 * 20 * 12 * 4)
  })
})
