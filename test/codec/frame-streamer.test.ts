import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { FrameTooLargeError } from '../../codec/errors.js'
import { FrameStreamer } from '../../codec/frame-streamer.js'

function frame(payload: Uint8Array): Buffer {
  const b = Buffer.alloc(4 + payload.length)
  b.writeInt32BE(payload.length, 0)
  b.set(payload, 4)
  return b
}

function chunked(all: Buffer, cuts: number[]): Buffer[] {
  const positions = [...new Set(cuts.map((c) => c % (all.length + 1)))].sort((a, b) => a - b)
  const chunks: Buffer[] = []
  let prev = 0
  for (const p of [...positions, all.length]) {
    chunks.push(all.subarray(prev, p))
    prev = p
  }
  return chunks
}

/** Runs frames through a streamer that streams every frame whose first payload byte is odd. */
function run(chunks: Buffer[], headBytes: number) {
  const s = new FrameStreamer(1 << 20, headBytes)
  const out: { data: Buffer; streamed: boolean }[] = []
  let current: Buffer[] | undefined
  for (const c of chunks) {
    s.push(c, {
      frame: (first, rest, length) => {
        expect(current).toBeUndefined()
        const data = rest === undefined ? first : Buffer.concat([first, ...rest])
        expect(data.length).toBe(length)
        out.push({ data: Buffer.from(data), streamed: false })
      },
      start: (head, length) => {
        expect(head.length).toBeGreaterThanOrEqual(Math.min(headBytes, length))
        const stream = length > 4 && (head[4]! & 1) === 1
        if (stream) current = []
        return stream
      },
      piece: (piece, done) => {
        current!.push(Buffer.from(piece))
        if (done) {
          out.push({ data: Buffer.concat(current!), streamed: true })
          current = undefined
        }
      },
    })
  }
  expect(current).toBeUndefined()
  expect(s.buffered).toBe(0)
  return out
}

describe('FrameStreamer', () => {
  it('delivers every frame exactly once, in order, whole or streamed, for any chunking', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ maxLength: 60 }), { maxLength: 8 }),
        fc.array(fc.nat(), { maxLength: 15 }),
        fc.integer({ min: 1, max: 20 }),
        (payloads, cuts, headBytes) => {
          const frames = payloads.map(frame)
          const all = Buffer.concat(frames)
          const out = run(chunked(all, cuts), headBytes)
          expect(out.map((o) => o.data)).toEqual(frames)
        },
      ),
      { numRuns: 3000 },
    )
  })

  it('streams a frame spanning reads piece by piece, before its end arrives', () => {
    const big = frame(Buffer.alloc(1000, 1)) // first payload byte odd: streamed
    const s = new FrameStreamer()
    const pieces: number[] = []
    s.push(big.subarray(0, 100), { frame: () => {}, start: () => true, piece: (p) => pieces.push(p.length) })
    expect(pieces).toEqual([100]) // handed on although 904 bytes are still to come
    s.push(big.subarray(100), { frame: () => {}, start: () => true, piece: (p) => pieces.push(p.length) })
    expect(pieces).toEqual([100, 904])
  })

  it('byte by byte', () => {
    const frames = [
      frame(Buffer.from([1, 2, 3])),
      frame(Buffer.from([2, 2])),
      frame(Buffer.alloc(0)),
      frame(Buffer.alloc(40, 3)),
    ]
    const all = Buffer.concat(frames)
    const out = run(
      [...all].map((b) => Buffer.from([b])),
      8,
    )
    expect(out.map((o) => o.data)).toEqual(frames)
    // The first frame (7 bytes) is complete before its 8-byte head is: delivered whole, never streamed.
    expect(out.map((o) => o.streamed)).toEqual([false, false, false, true])
  })

  it('rejects an oversized or negative prefix, also when split', () => {
    const s = new FrameStreamer(100)
    const h = { frame: () => {}, start: () => false, piece: () => {} }
    expect(() => s.push(Buffer.from([0, 0, 0, 101, 1]), h)).toThrow(FrameTooLargeError)
    const t = new FrameStreamer(100)
    t.push(Buffer.from([0xff, 0xff]), h)
    expect(() => t.push(Buffer.from([0xff, 0xfe]), h)).toThrow(FrameTooLargeError)
  })
})
