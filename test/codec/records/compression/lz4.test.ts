import { describe, expect, it } from 'vitest'
import { CompressionError, DecompressedSizeExceededError } from '../../../../codec/errors.js'
import { lz4Compress, lz4Decompress } from '../../../../codec/records/compression/lz4.js'
import { xxhash32 } from '../../../../codec/records/compression/xxhash32.js'
import { hasCommand, pipeThrough } from './cli-tools.js'
import { compressionSamples } from './samples.js'

const MAX = 64 * 1024 * 1024
const samples = compressionSamples().filter(([, data]) => data.length > 0)

describe('xxhash32', () => {
  // xxhash_spec.md: the hash of no input with seed 0.
  it('hashes empty input to 0x02CC5D05', () => {
    expect(xxhash32(Buffer.alloc(0))).toBe(0x02cc5d05)
  })
})

describe('lz4 frames', () => {
  it('writes what the Java client writes: 64 KiB independent blocks, no content checksum', () => {
    const frame = lz4Compress(Buffer.from('x'.repeat(200_000)))
    expect(frame.readUInt32LE(0)).toBe(0x184d2204)
    expect(frame[4]).toBe(0x60)
    expect(frame[5]).toBe(0x40)
    expect(frame.readUInt32LE(frame.length - 4)).toBe(0)
  })

  it('stores incompressible blocks uncompressed', () => {
    const data = compressionSamples().find(([name]) => name === 'random 1 KiB')![1]
    const frame = lz4Compress(data)
    expect(frame.readUInt32LE(7)).toBe((0x80000000 | data.length) >>> 0)
    expect(lz4Decompress(frame, MAX).equals(data)).toBe(true)
  })

  it('rejects a header checksum mismatch', () => {
    const frame = Buffer.from(lz4Compress(Buffer.from('hello hello hello hello')))
    frame[6]! ^= 1
    expect(() => lz4Decompress(frame, MAX)).toThrow(CompressionError)
  })

  it('rejects a copy that reaches before the data', () => {
    // token: 1 literal, match length 4; literal 'a'; offset 2 (only 1 byte written so far); then end mark.
    const block = Buffer.from([0x10, 0x61, 0x02, 0x00, 0x00])
    const header = Buffer.from([0x04, 0x22, 0x4d, 0x18, 0x60, 0x40, 0])
    header[6] = (xxhash32(header, 4, 6) >>> 8) & 0xff
    const size = Buffer.alloc(4)
    size.writeUInt32LE(block.length)
    const frame = Buffer.concat([header, size, block, Buffer.alloc(4)])
    expect(() => lz4Decompress(frame, MAX)).toThrow(/offset 2/)
  })

  it('checks a declared content size against the cap before decoding', () => {
    const frame = Buffer.from([0x04, 0x22, 0x4d, 0x18, 0x68, 0x40, 0, 0, 0, 0, 1, 0, 0, 0, 0])
    frame[14] = (xxhash32(frame, 4, 14) >>> 8) & 0xff
    expect(() => lz4Decompress(frame, 1024)).toThrow(DecompressedSizeExceededError)
  })

  describe.skipIf(!hasCommand('lz4'))('against the lz4 reference CLI', () => {
    const variants: [string, string[]][] = [
      ['defaults (content checksum)', []],
      ['linked blocks', ['-BD']],
      ['block checksums', ['-BX']],
      ['content size', ['--content-size']],
      ['no checksums', ['--no-frame-crc']],
      ['256 KiB blocks, high compression', ['-B5', '-9']],
      ['1 MiB blocks', ['-B6']],
      ['4 MiB blocks, linked', ['-B7', '-BD']],
    ]
    it.each(variants)('decodes frames written with %s', (_name, args) => {
      for (const [, data] of samples) {
        const frame = pipeThrough('lz4', ['-c', '-q', ...args], data)
        expect(lz4Decompress(frame, MAX).equals(data)).toBe(true)
      }
    })

    it('decodes concatenated frames', () => {
      const [a, b] = [samples[1]![1], samples[4]![1]]
      const frames = Buffer.concat([pipeThrough('lz4', ['-c', '-q'], a), pipeThrough('lz4', ['-c', '-q', '-BD'], b)])
      expect(lz4Decompress(frames, MAX).equals(Buffer.concat([a, b]))).toBe(true)
    })

    it.each(samples)('writes frames the CLI reads: %s', (_name, data) => {
      expect(pipeThrough('lz4', ['-d', '-c', '-q'], lz4Compress(data)).equals(data)).toBe(true)
    })
  })
})
