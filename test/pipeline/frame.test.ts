import { describe, expect, it } from 'vitest'
import { TruncatedInputError } from '../../codec/errors.js'
import { Frame } from '../../src/pipeline/frame.js'

describe('Frame', () => {
  const whole = Buffer.from(Array.from({ length: 100 }, (_, i) => i))
  const pieces = () =>
    new Frame(whole.subarray(0, 3), [whole.subarray(3, 10), whole.subarray(10, 60), whole.subarray(60)], 100)

  it('head(n) copies only the first n bytes of a frame in pieces', () => {
    const f = pieces()
    const h = f.head(20)
    expect(h.length).toBe(20)
    expect(h.equals(whole.subarray(0, 20))).toBe(true)
    expect(f.head(200).equals(whole)).toBe(true)
  })

  it('peek falls back to the whole frame when the head was too short', () => {
    const f = pieces()
    const seen: number[] = []
    const v = f.peek(4, (b) => {
      seen.push(b.length)
      if (b.length < 50) throw new TruncatedInputError('x', 50, b.length, 0)
      return b[49]
    })
    expect(v).toBe(49)
    expect(seen).toEqual([4, 100])
  })

  it('reader spans the pieces, whole() concatenates once', () => {
    const f = pieces()
    const r = f.reader(2)
    r.skip(5)
    expect(r.int32()).toBe(whole.readInt32BE(7))
    expect(f.whole().equals(whole)).toBe(true)
    expect(f.head(10).length).toBe(100) // now one piece: the whole frame
  })
})
