import { describe, expect, it } from 'vitest'
import { CompressionError, DecompressedSizeExceededError } from '../../../../codec/errors.js'
import { zstdCompress, zstdDecompress } from '../../../../codec/records/compression/zstd.js'
import { encodeStoredZstdFrame, summarizeZstdFrames } from '../../../../codec/records/compression/zstd-frame.js'
import { hasCommand, pipeThrough } from './cli-tools.js'
import { compressionSamples } from './samples.js'

const MAX = 64 * 1024 * 1024
const samples = compressionSamples()

describe('zstd', () => {
  it.each(samples)('stored frames round-trip: %s', (_name, data) => {
    expect(zstdDecompress(encodeStoredZstdFrame(data), MAX).equals(data)).toBe(true)
  })

  it('bounds a frame without content size by its blocks', () => {
    const frame = encodeStoredZstdFrame(Buffer.alloc(300_000, 1))
    // Clear the content size: FCS flag 0 without single segment means no content size field.
    const noSize = Buffer.concat([frame.subarray(0, 4), Buffer.from([0x00, frame[5]!]), frame.subarray(10)])
    expect(summarizeZstdFrames(noSize, MAX).outputBound).toBe(300_000)
    expect(zstdDecompress(noSize, MAX).equals(Buffer.alloc(300_000, 1))).toBe(true)
    expect(() => zstdDecompress(noSize, 200_000)).toThrow(DecompressedSizeExceededError)
  })

  it('refuses a window larger than the cap allows, before allocating it', () => {
    // Window descriptor exponent 20: a 1 GiB window, no content size, one empty raw block.
    const frame = Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0x00, 20 << 3, 0x01, 0x00, 0x00])
    expect(() => zstdDecompress(frame, MAX)).toThrow(CompressionError)
  })

  it('rejects frames that need a dictionary', () => {
    const frame = Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0x21, 0x07, 0x00, 0x01, 0x00, 0x00])
    expect(() => zstdDecompress(frame, MAX)).toThrow(/dictionar/)
  })

  describe.skipIf(!hasCommand('zstd'))('against the zstd reference CLI', () => {
    const variants: [string, string[]][] = [
      ['defaults (checksum, no content size)', []],
      ['no checksum', ['--no-check']],
      ['level 19', ['-19']],
      ['fast level', ['--fast=3']],
      ['small blocks', ['-B4096']],
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
