import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { FrameTooLargeError } from '../../codec/errors.js'
import { FrameDecoder } from '../../codec/frame-decoder.js'

function frame(payload: Buffer): Buffer {
  const b = Buffer.alloc(4 + payload.length)
  b.writeInt32BE(payload.length, 0)
  payload.copy(b, 4)
  return b
}

function feed(decoder: FrameDecoder, chunks: Buffer[]): Buffer[] {
  const out: Buffer[] = []
  for (const c of chunks) decoder.push(c, (f) => out.push(Buffer.from(f)))
  return out
}

const payloads = [
  Buffer.from('hello kafka'),
  Buffer.alloc(0),
  Buffer.from([1, 2, 3, 4, 5, 6, 7, 8, 9]),
  Buffer.alloc(300, 7),
]
const stream = Buffer.concat(payloads.map(frame))

describe('FrameDecoder', () => {
  it('hands out whole frames with their size prefix, fed whole', () => {
    expect(feed(new FrameDecoder(), [stream])).toEqual(payloads.map(frame))
  })

  it('fed byte by byte', () => {
    const chunks = [...stream].map((b) => Buffer.from([b]))
    expect(feed(new FrameDecoder(), chunks)).toEqual(payloads.map(frame))
  })

  it('split at every position', () => {
    for (let i = 0; i <= stream.length; i++) {
      const d = new FrameDecoder()
      expect(feed(d, [stream.subarray(0, i), stream.subarray(i)])).toEqual(payloads.map(frame))
      expect(d.buffered).toBe(0)
    }
  })

  it('split at every pair of positions', () => {
    const small = Buffer.concat([frame(Buffer.from('abc')), frame(Buffer.from('defgh'))])
    for (let i = 0; i <= small.length; i++) {
      for (let j = i; j <= small.length; j++) {
        const got = feed(new FrameDecoder(), [small.subarray(0, i), small.subarray(i, j), small.subarray(j)])
        expect(got).toEqual([frame(Buffer.from('abc')), frame(Buffer.from('defgh'))])
      }
    }
  })

  it('never consumes the trailing bytes of the next frame', () => {
    const next = frame(Buffer.from('next frame payload'))
    for (let cut = 0; cut < next.length; cut++) {
      const d = new FrameDecoder()
      const got = feed(d, [Buffer.concat([stream, next.subarray(0, cut)])])
      expect(got).toEqual(payloads.map(frame))
      expect(d.buffered).toBe(cut)
      expect(feed(d, [next.subarray(cut)])).toEqual([next])
      expect(d.buffered).toBe(0)
    }
  })

  it('returns views into the chunk for frames inside one chunk (zero copy)', () => {
    const d = new FrameDecoder()
    const views: Buffer[] = []
    d.push(stream, (f) => views.push(f))
    expect(views[0]!.buffer).toBe(stream.buffer)
  })

  it('rejects a size prefix above the maximum before buffering the frame', () => {
    const d = new FrameDecoder(1024)
    const big = Buffer.alloc(8)
    big.writeInt32BE(1025, 0)
    expect(() => d.push(big, () => {})).toThrow(FrameTooLargeError)
  })

  it('rejects a negative size prefix, also when the prefix arrives split', () => {
    const neg = Buffer.from([0xff, 0xff, 0xff, 0xfe])
    expect(() => new FrameDecoder().push(neg, () => {})).toThrow(FrameTooLargeError)
    const d = new FrameDecoder()
    d.push(neg.subarray(0, 2), () => {})
    expect(() => d.push(neg.subarray(2), () => {})).toThrow(/negative/)
  })

  it('an oversized prefix claims no memory: only bytes received are held', () => {
    const d = new FrameDecoder(100 * 1024 * 1024)
    const prefix = Buffer.alloc(4)
    prefix.writeInt32BE(100 * 1024 * 1024, 0)
    d.push(Buffer.concat([prefix, Buffer.alloc(10)]), () => {})
    expect(d.buffered).toBe(14)
  })

  it('any chunking of any frames reassembles exactly (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ maxLength: 50 }), { maxLength: 8 }),
        fc.array(fc.nat(), { maxLength: 10 }),
        (raw, cuts) => {
          const frames = raw.map((p) => frame(Buffer.from(p)))
          const all = Buffer.concat(frames)
          const positions = [...new Set(cuts.map((c) => c % (all.length + 1)))].sort((a, b) => a - b)
          const chunks: Buffer[] = []
          let prev = 0
          for (const p of positions) {
            chunks.push(all.subarray(prev, p))
            prev = p
          }
          chunks.push(all.subarray(prev))
          expect(feed(new FrameDecoder(), chunks)).toEqual(frames)
        },
      ),
    )
  })
})

describe('FrameDecoder.pushPieces', () => {
  it('hands out pieces without copying, which concatenate to exactly the frames, for any chunking', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ maxLength: 50 }), { maxLength: 8 }),
        fc.array(fc.nat(), { maxLength: 10 }),
        (raw, cuts) => {
          const frames = raw.map((p) => frame(Buffer.from(p)))
          const all = Buffer.concat(frames)
          const positions = [...new Set(cuts.map((c) => c % (all.length + 1)))].sort((a, b) => a - b)
          const d = new FrameDecoder()
          const got: Buffer[] = []
          let prev = 0
          for (const p of [...positions, all.length]) {
            const chunk = all.subarray(prev, p)
            prev = p
            d.pushPieces(chunk, (first, rest, length) => {
              expect(first.length).toBeGreaterThanOrEqual(4)
              const whole = rest === undefined ? first : Buffer.concat([first, ...rest])
              expect(whole.length).toBe(length)
              // Pieces are views into the chunks (or, for a split size prefix, its 4 bytes): nothing larger is copied.
              for (const piece of rest ?? []) expect(piece.buffer).toBe(all.buffer)
              got.push(Buffer.from(whole))
            })
          }
          expect(got).toEqual(frames)
        },
      ),
    )
  })
})
