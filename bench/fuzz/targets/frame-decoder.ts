import fc from 'fast-check'
import { FrameTooLargeError } from '../../../codec/errors.js'
import { FrameDecoder } from '../../../codec/frame-decoder.js'
import { FrameStreamer } from '../../../codec/frame-streamer.js'
import { applyByteMutation, ByteChoices, byteMutation, HOSTILE_INT32, splitAt } from '../byte-mutations.js'
import { check, codecOutcome, type FuzzTarget, hex } from '../target.js'

/**
 * The size-prefix framing (FrameDecoder, and FrameStreamer, its cut-through form): a stream of frames, some
 * prefixes replaced by hostile sizes and some bytes mutated, is fed in pieces cut at arbitrary points, and what
 * each decoder hands out is compared with a reference reading of the whole stream: the same frames, in order,
 * byte for byte; FrameTooLargeError exactly when a prefix is negative or above the maximum, after the frames
 * before it; never more held back than one frame of the maximum size.
 */

interface FrameInput {
  payloadSizes: number[]
  /** Prefixes replaced: frame index -> size written instead. */
  hostile: { frame: number; size: number }[]
  mutations: Parameters<typeof applyByteMutation>[1][]
  cuts: number[]
  maxFrameSize: number
  /** Per frame spanning reads, whether FrameStreamer's start() streams it. */
  stream: boolean[]
  headBytes: number
}

/** Frame payload bytes are a pattern of the frame's index, so a frame handed out from the wrong bytes shows. */
function buildStream(input: FrameInput): Buffer {
  const parts: Buffer[] = []
  input.payloadSizes.forEach((n, i) => {
    const frame = Buffer.alloc(4 + n, (i * 37 + 11) & 0xff)
    frame.writeInt32BE(n, 0)
    parts.push(frame)
  })
  for (const h of input.hostile) {
    const i = h.frame % Math.max(1, parts.length)
    if (parts[i] !== undefined) parts[i]!.writeInt32BE(h.size | 0, 0)
  }
  let stream: Buffer = Buffer.concat(parts)
  for (const m of input.mutations) stream = applyByteMutation(stream, m)
  return stream
}

/** What a correct decoder does with the stream: the frames before any bad prefix, the error, the bytes left. */
function reference(stream: Buffer, max: number): { frames: Buffer[]; tooLarge: boolean; left: number } {
  const frames: Buffer[] = []
  let pos = 0
  while (stream.length - pos >= 4) {
    const size = stream.readInt32BE(pos)
    if (size < 0 || size > max) return { frames, tooLarge: true, left: stream.length - pos }
    if (stream.length - pos < 4 + size) break
    frames.push(stream.subarray(pos, pos + 4 + size))
    pos += 4 + size
  }
  return { frames, tooLarge: false, left: stream.length - pos }
}

function sameFrames(what: string, got: Buffer[], want: Buffer[], stream: Buffer): void {
  check(
    got.length === want.length,
    () => `${what}: ${got.length} frame(s) handed out, expected ${want.length}; stream ${hex(stream)}`,
  )
  for (let i = 0; i < got.length; i++)
    check(got[i]!.equals(want[i]!), () => `${what}: frame ${i} differs from the stream's; stream ${hex(stream)}`)
}

function runFrameDecoder(stream: Buffer, pieces: Buffer[], max: number, usePieces: boolean): void {
  const want = reference(stream, max)
  const decoder = new FrameDecoder(max)
  const got: Buffer[] = []
  const outcome = codecOutcome(() => {
    for (const piece of pieces) {
      if (usePieces)
        decoder.pushPieces(piece, (first, rest, length) => {
          const frame = rest === undefined ? Buffer.from(first) : Buffer.concat([first, ...rest])
          check(frame.length === length, () => `FrameDecoder.pushPieces: length ${length} but ${frame.length} bytes`)
          got.push(frame)
        })
      else decoder.push(piece, (frame) => got.push(Buffer.from(frame)))
      // Never more held than one frame of the maximum size and its prefix.
      check(decoder.buffered <= max + 4, () => `FrameDecoder holds ${decoder.buffered} bytes, max frame ${max}`)
    }
  })
  const what = usePieces ? 'FrameDecoder.pushPieces' : 'FrameDecoder.push'
  if (!outcome.ok)
    check(
      outcome.error instanceof FrameTooLargeError && want.tooLarge,
      () => `${what} threw ${outcome.error.name} (${outcome.error.message}); reference: tooLarge=${want.tooLarge}`,
    )
  else {
    check(!want.tooLarge, () => `${what} accepted a stream with a bad prefix: ${hex(stream)}`)
    check(decoder.buffered === want.left, () => `${what} holds ${decoder.buffered} bytes, ${want.left} left over`)
  }
  sameFrames(what, got, want.frames, stream)
}

function runFrameStreamer(stream: Buffer, pieces: Buffer[], max: number, streamIt: boolean[], headBytes: number) {
  const want = reference(stream, max)
  const streamer = new FrameStreamer(max, headBytes)
  const got: Buffer[] = []
  let streamed: Buffer[] | undefined
  let streamedLength = 0
  let starts = 0
  const outcome = codecOutcome(() => {
    for (const piece of pieces) {
      streamer.push(piece, {
        frame: (first, rest, length) => {
          check(streamed === undefined, () => 'FrameStreamer: a whole frame while another streams')
          const frame = rest === undefined ? Buffer.from(first) : Buffer.concat([first, ...rest])
          check(frame.length === length, () => `FrameStreamer.frame: length ${length} but ${frame.length} bytes`)
          got.push(frame)
        },
        start: (head, length) => {
          const expected = want.frames[got.length]
          check(
            expected === undefined || (length === expected.length && head.equals(expected.subarray(0, head.length))),
            () => `FrameStreamer.start: head or length ${length} is not frame ${got.length}'s`,
          )
          check(head.length >= Math.min(headBytes, length), () => `FrameStreamer.start: head of ${head.length} bytes`)
          const yes = streamIt[starts++ % Math.max(1, streamIt.length)] ?? false
          if (yes) {
            streamed = []
            streamedLength = length
          }
          return yes
        },
        piece: (p, done) => {
          check(streamed !== undefined, () => 'FrameStreamer.piece without a streamed frame')
          streamed.push(Buffer.from(p))
          if (done) {
            const frame = Buffer.concat(streamed)
            check(frame.length === streamedLength, () => `FrameStreamer: streamed ${frame.length} of ${streamedLength}`)
            got.push(frame)
            streamed = undefined
          }
        },
      })
      check(streamer.buffered <= max + 4, () => `FrameStreamer holds ${streamer.buffered} bytes, max frame ${max}`)
    }
  })
  if (!outcome.ok)
    check(
      outcome.error instanceof FrameTooLargeError && want.tooLarge,
      () =>
        `FrameStreamer threw ${outcome.error.name} (${outcome.error.message}); reference: tooLarge=${want.tooLarge}`,
    )
  else check(!want.tooLarge, () => `FrameStreamer accepted a stream with a bad prefix: ${hex(stream)}`)
  sameFrames('FrameStreamer', got, want.frames, stream)
}

function runAll(stream: Buffer, input: Pick<FrameInput, 'cuts' | 'maxFrameSize' | 'stream' | 'headBytes'>): void {
  const pieces = splitAt(stream, input.cuts)
  runFrameDecoder(stream, pieces, input.maxFrameSize, false)
  runFrameDecoder(stream, pieces, input.maxFrameSize, true)
  runFrameStreamer(stream, pieces, input.maxFrameSize, input.stream, input.headBytes)
}

const arbitrary: fc.Arbitrary<FrameInput> = fc.record({
  payloadSizes: fc.array(
    fc.oneof({ weight: 4, arbitrary: fc.integer({ min: 0, max: 40 }) }, fc.integer({ min: 0, max: 3000 })),
    { maxLength: 8 },
  ),
  hostile: fc.array(
    fc.record({
      frame: fc.nat(),
      size: fc.oneof(fc.constantFrom(...HOSTILE_INT32, 4096, 4097, 4095), fc.integer({ min: -5, max: 5000 })),
    }),
    { maxLength: 2 },
  ),
  mutations: fc.array(byteMutation, { maxLength: 2 }),
  cuts: fc.array(fc.nat(), { maxLength: 12 }),
  maxFrameSize: fc.constantFrom(0, 3, 64, 4096, 100 * 1024 * 1024),
  stream: fc.array(fc.boolean(), { minLength: 1, maxLength: 4 }),
  headBytes: fc.constantFrom(0, 1, 4, 5, 16, 64),
})

export const frameDecoderTarget: FuzzTarget<FrameInput> = {
  name: 'frame-decoder',
  description: 'FrameDecoder push/pushPieces and FrameStreamer against a reference framing, cut at arbitrary points',
  arbitrary,
  run(input) {
    runAll(buildStream(input), input)
  },
  runBytes(data) {
    const c = new ByteChoices(data)
    const maxFrameSize = [0, 3, 64, 4096, 100 * 1024 * 1024][c.pick(5)]!
    const headBytes = [0, 1, 4, 16][c.pick(4)]!
    const cuts = Array.from({ length: c.pick(8) }, () => c.pick(256) * 7)
    const stream = [c.pick(2) === 1, c.pick(2) === 1]
    runAll(Buffer.from(c.rest()), { cuts, maxFrameSize, stream, headBytes })
  },
  // Frames are at most a few KiB here; each decoder copies a frame at most once more.
  limits: { allocation: 1 << 20, growth: 16 << 20 },
}
