import * as zlib from 'node:zlib'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { CodecError, DecompressedSizeExceededError } from '../../../../codec/errors.js'
import {
  prepareZstdCompression,
  selectZstdCompressor,
  ZSTD_LEVEL,
  type ZstdWasm,
  zstdCompress,
  zstdCompressorName,
  zstdDecompress,
} from '../../../../codec/records/compression/zstd.js'
import {
  encodeStoredZstdFrame,
  shrinkZstdWindows,
  summarizeZstdFrames,
} from '../../../../codec/records/compression/zstd-frame.js'
import { hasCommand, pipeThrough } from './cli-tools.js'
import { compressionSamples } from './samples.js'

const MAX = 64 * 1024 * 1024
const samples = compressionSamples()

// Real compressed frames (Huffman literals, FSE sequences), made once with `zstd -19` from FIXTURE_TEXT so that
// fuzzing reaches fzstd's block decoder without needing the CLI: one with a content size and checksum (from a
// file), one without (from a pipe, as streaming compressors write).
const FIXTURE_TEXT = Array.from(
  { length: 60 },
  (_, i) => `{"id":${i},"name":"user-${i % 7}","tags":["a","b"],"ok":${i % 3 === 0}}`,
).join('\n')
const FIXTURES = [
  Buffer.from(
    'KLUv/WSJCx0HAEINIxqATTqqY3AKGAKmNckUKNl7SylTErEgR4yrA09o1IOWmIiHd7zRxRpaSnR47vJ4vuvNlz20u/Sj+zRv+Dz8z39ve5MN5TGmD3/2XdvqNGM61J86i7VrHt1rb3UqspOJePfbDwVjaAGTJuKALJVolDIoQinFlGCpx4GBlFIWcDSPSC3VLBhGKbZUAVGSeKgRsPaw/2fQlToSUBBIEJhg8ArBCWGQH+kRI8IImQaQEupgbYDIDEeQsMo0hdAFRVoZNEbnAKSEElBxDIlZ5l0rJxpjOkrNhkxv/fApRg3TBewqNvs8Dw==',
    'base64',
  ),
  Buffer.from(
    'KLUv/QRoHQcAQg0jGoBNOqpjcAoYAqY1yRQo2XtLKVMSsSBHjKsDT2jUg5aYiId3vNHFGlpKdHju8ni+682XPbS79KP7NG/4PPzPf297kw3lMaYPf/Zd2+o0YzrUnzqLtWse3WtvdSqyk4l499sPBWNoAZMm4oAslWiUMihCKcWUYKnHgYGUUhZwNI9ILdUsGEYptlQBUZJ4qBGw9rD/Z9CVOhJQEEgQmGDwCsEJYZAf6REjwgiZBpAS6mBtgMgMR5CwyjSF0AVFWhk0RucApIQSUHEMiVnmXSsnGmM6Ss2GTG/98ClGDdMF7Co2+zwP',
    'base64',
  ),
]

const nodeHasZstd = typeof (zlib as { zstdCompressSync?: unknown }).zstdCompressSync === 'function'
const loadWasm = async () => (await import('@bokuweb/zstd-wasm')) as ZstdWasm

describe('zstd compression', () => {
  it('writes stored frames until prepared, then really compresses: node:zlib where Node has zstd, else WebAssembly', async () => {
    await prepareZstdCompression()
    expect(zstdCompressorName()).toBe(nodeHasZstd ? 'node:zlib' : '@bokuweb/zstd-wasm')
    const data = samples.find(([name]) => name === 'json lines')![1]
    const frame = zstdCompress(data)
    expect(frame.length).toBeLessThan(data.length / 3)
    expect(zstdDecompress(frame, MAX).equals(data)).toBe(true)
  })

  it.each(samples)('round-trips through the decoder: %s', (_name, data) => {
    expect(zstdDecompress(zstdCompress(data), MAX).equals(data)).toBe(true)
  })

  it('the WebAssembly compressor (Node 20) writes one frame that declares its content size, call after call', async () => {
    const wasm = await selectZstdCompressor(undefined, loadWasm)
    expect(wasm.name).toBe('@bokuweb/zstd-wasm')
    for (const [, data] of samples) expect(zstdDecompress(wasm.compress(data), MAX).equals(data)).toBe(true)
    const frame = wasm.compress(Buffer.alloc(100_000, 'abc'))
    const [summary] = summarizeZstdFrames(frame, MAX)
    expect(summary!.contentSize).toBe(100_000)
    expect(summarizeZstdFrames(frame, MAX)).toHaveLength(1)
  })

  it('uses node:zlib at level 3 where the runtime has it', async () => {
    const calls: unknown[] = []
    const fake = (data: Uint8Array, options?: unknown) => {
      calls.push(options)
      return Buffer.from(data)
    }
    const chosen = await selectZstdCompressor(fake, () => Promise.reject(new Error('not asked')))
    expect(chosen.name).toBe('node:zlib')
    chosen.compress(Buffer.from('x'))
    expect(Object.values((calls[0] as { params: Record<number, number> }).params)).toEqual([ZSTD_LEVEL])
  })

  it('falls back to stored frames when WebAssembly cannot load, and those still round-trip', async () => {
    const stored = await selectZstdCompressor(undefined, () => Promise.reject(new Error('no WebAssembly')))
    expect(stored.name).toBe('stored')
    const failingInit = await selectZstdCompressor(undefined, async () => ({
      init: () => Promise.reject(new Error('bad module')),
      createCCtx: () => 0,
      compressUsingDict: () => new Uint8Array(),
    }))
    expect(failingInit.name).toBe('stored')
    for (const [, data] of samples) expect(zstdDecompress(stored.compress(data), MAX).equals(data)).toBe(true)
  })
})

describe('zstd', () => {
  it.each(samples)('stored frames round-trip: %s', (_name, data) => {
    expect(zstdDecompress(encodeStoredZstdFrame(data), MAX).equals(data)).toBe(true)
  })

  it('bounds a frame without content size by its blocks', () => {
    const frame = encodeStoredZstdFrame(Buffer.alloc(300_000, 1))
    // Clear the content size: FCS flag 0 without single segment means no content size field.
    const noSize = Buffer.concat([frame.subarray(0, 4), Buffer.from([0x00, frame[5]!]), frame.subarray(10)])
    expect(summarizeZstdFrames(noSize, MAX)[0]!.outputBound).toBe(300_000)
    expect(zstdDecompress(noSize, MAX).equals(Buffer.alloc(300_000, 1))).toBe(true)
    expect(() => zstdDecompress(noSize, 200_000)).toThrow(DecompressedSizeExceededError)
  })

  it('lowers a declared window to what the frame can produce, without changing the output', () => {
    // Window descriptor exponent 20: a 1 GiB window, no content size, one raw block of 3 bytes.
    const frame = Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0x00, 20 << 3, 0x19, 0x00, 0x00, 0x61, 0x62, 0x63])
    const frames = summarizeZstdFrames(frame, MAX)
    expect(frames).toEqual([{ outputBound: 3, contentSize: -1, window: 2 ** 30, windowDescriptorAt: 5 }])
    const shrunk = shrinkZstdWindows(frame, frames)
    expect(shrunk[5]).toBe(0)
    expect(frame[5]).toBe(20 << 3)
    expect(zstdDecompress(frame, MAX).toString()).toBe('abc')
  })

  it('rejects frames that need a dictionary', () => {
    const frame = Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0x21, 0x07, 0x00, 0x01, 0x00, 0x00])
    expect(() => zstdDecompress(frame, MAX)).toThrow(/dictionar/)
  })

  it('decodes the fixture frames, and damaged copies give CodecErrors only', () => {
    for (const frame of FIXTURES) expect(zstdDecompress(frame, MAX).toString()).toBe(FIXTURE_TEXT)
    fc.assert(
      fc.property(
        fc.constantFrom(...FIXTURES),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }),
        fc.option(fc.nat(), { nil: undefined }),
        (frame, writes, cut) => {
          const damaged = Buffer.from(frame)
          for (const [at, byte] of writes) damaged[at % damaged.length] = byte
          try {
            zstdDecompress(cut === undefined ? damaged : damaged.subarray(0, cut % damaged.length), MAX)
          } catch (err) {
            expect(err).toBeInstanceOf(CodecError)
          }
        },
      ),
      { numRuns: 3000 },
    )
  })

  describe.skipIf(!hasCommand('zstd'))('against the zstd reference CLI', () => {
    const variants: [string, string[]][] = [
      ['defaults (checksum, no content size)', []],
      ['no checksum', ['--no-check']],
      ['level 19', ['-19']],
      ['fast level', ['--fast=3']],
      ['small blocks', ['-B4096']],
      ['a 128 MiB window (--long=27)', ['--long=27']],
    ]
    it.each(variants)('decodes frames written with %s', (_name, args) => {
      for (const [, data] of samples) {
        const frame = pipeThrough('zstd', ['-c', '-q', ...args], data)
        expect(zstdDecompress(frame, MAX).equals(data)).toBe(true)
      }
    })

    it('decodes concatenated frames', () => {
      const [a, b] = [samples[2]![1], samples[6]![1]]
      const frames = Buffer.concat([pipeThrough('zstd', ['-c', '-q'], a), pipeThrough('zstd', ['-c', '-q', '-5'], b)])
      expect(zstdDecompress(frames, MAX).equals(Buffer.concat([a, b]))).toBe(true)
    })

    it.each(samples)('writes frames the CLI reads: %s', (_name, data) => {
      expect(pipeThrough('zstd', ['-d', '-c', '-q'], zstdCompress(data)).equals(data)).toBe(true)
      expect(pipeThrough('zstd', ['-d', '-c', '-q'], encodeStoredZstdFrame(data)).equals(data)).toBe(true)
    })
  })
})
