import { describe, expect, it } from 'vitest'
import { CompressionError, DecompressedSizeExceededError } from '../../../../codec/errors.js'
import {
  createSnappyCodec,
  isXerialFramed,
  NATIVE_MIN_DECODE_BYTES,
  type NativeSnappy,
  type SnappyCodec,
  snappyCompress,
  snappyDecompress,
  snappyImplementation,
} from '../../../../codec/records/compression/snappy.js'
import { encodeSnappyBlock, maxSnappyBlockSize } from '../../../../codec/records/compression/snappy-block.js'
import { loadNative } from '../../../../codec/records/native-module.js'
import { compressionSamples } from './samples.js'

const MAX = 64 * 1024 * 1024
const XERIAL_HEADER = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00, 0, 0, 0, 1, 0, 0, 0, 1])

function rawBlock(data: Buffer): Buffer {
  const out = Buffer.alloc(maxSnappyBlockSize(data.length))
  return out.subarray(0, encodeSnappyBlock(data, 0, data.length, out, 0))
}

function xerial(...blocks: Buffer[]): Buffer {
  return Buffer.concat([
    XERIAL_HEADER,
    ...blocks.flatMap((b) => {
      const length = Buffer.alloc(4)
      length.writeInt32BE(b.length)
      return [length, b]
    }),
  ])
}

const native = loadNative<NativeSnappy>('@napi-rs/snappy', ['compressSync', 'uncompressSync'])
const CODECS: [string, SnappyCodec][] = [
  [
    'as selected at load',
    { implementation: snappyImplementation(), compress: snappyCompress, decompress: snappyDecompress },
  ],
  ['pure JS (the fallback)', createSnappyCodec(undefined)],
  ...(native === undefined ? [] : ([['@napi-rs/snappy', createSnappyCodec(native)]] as [string, SnappyCodec][])),
]

describe('the implementation', () => {
  it('is @napi-rs/snappy where it loads, else the pure-JS block codec', () => {
    expect(snappyImplementation()).toBe(native === undefined ? 'js' : '@napi-rs/snappy')
    if (process.platform === 'linux' && process.arch === 'x64') expect(snappyImplementation()).toBe('@napi-rs/snappy')
  })

  it('falls back to pure JS when the native package cannot load', () => {
    const missing = loadNative<NativeSnappy>('@napi-rs/snappy', ['compressSync', 'uncompressSync'], () => {
      throw new Error('Cannot find native binding')
    })
    expect(createSnappyCodec(missing).implementation).toBe('js')
  })

  it.each(compressionSamples())('each implementation reads what the other writes: %s', (_name, data) => {
    for (const [, writer] of CODECS) {
      const framed = writer.compress(data)
      for (const [, reader] of CODECS) expect(reader.decompress(framed, MAX).equals(data)).toBe(true)
    }
  })
})

describe.each(CODECS)('snappy %s', (_codecName, { compress: snappyCompress, decompress: snappyDecompress }) => {
  // Hand-assembled raw blocks (format_description.txt): length 11, literal "abc", then one copy of 8 bytes at
  // offset 3 in each of the three copy forms; the copy overlaps its own output.
  it.each([
    ['1-byte offset copy', [0x11, 0x03]],
    ['2-byte offset copy', [0x1e, 0x03, 0x00]],
    ['4-byte offset copy', [0x1f, 0x03, 0x00, 0x00, 0x00]],
  ])('decodes a raw block with a %s', (_name, copy) => {
    const block = Buffer.from([0x0b, 0x08, 0x61, 0x62, 0x63, ...copy])
    expect(snappyDecompress(block, MAX).toString()).toBe('abcabcabcab')
  })

  it('decodes literals with 1- to 4-byte lengths', () => {
    for (const n of [60, 61, 300, 70_000]) {
      const data = Buffer.alloc(n, 0x5a)
      const lengthBytes = n - 1 < 0x100 ? 1 : n - 1 < 0x10000 ? 2 : 3
      const length = Buffer.alloc(lengthBytes)
      length.writeUIntLE(n - 1, 0, lengthBytes)
      const preamble: number[] = []
      for (let v = n; ; v = Math.floor(v / 128)) {
        if (v < 0x80) {
          preamble.push(v)
          break
        }
        preamble.push((v & 0x7f) | 0x80)
      }
      const block = Buffer.concat([Buffer.from(preamble), Buffer.from([(59 + lengthBytes) << 2]), length, data])
      expect(snappyDecompress(block, MAX).equals(data)).toBe(true)
    }
  })

  it.each([
    ['offset 0', [0x0b, 0x08, 0x61, 0x62, 0x63, 0x11, 0x00]],
    ['offset before the start', [0x0b, 0x08, 0x61, 0x62, 0x63, 0x11, 0x04]],
    ['fewer bytes than declared', [0x0c, 0x08, 0x61, 0x62, 0x63, 0x11, 0x03]],
    ['more bytes than declared', [0x0a, 0x08, 0x61, 0x62, 0x63, 0x11, 0x03]],
    ['a literal past the end', [0x0b, 0x28, 0x61]],
    ['a 6-byte length preamble', [0xff, 0xff, 0xff, 0xff, 0xff, 0x01]],
  ])('rejects a raw block with %s', (_name, bytes) => {
    expect(() => snappyDecompress(Buffer.from(bytes), MAX)).toThrow(CompressionError)
  })

  it('refuses a declared length past the cap before allocating it', () => {
    expect(() => snappyDecompress(Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f, 0x00]), MAX)).toThrow(
      DecompressedSizeExceededError,
    )
  })

  it('writes the xerial framing, in 32 KiB chunks', () => {
    const data = compressionSamples().find(([name]) => name === 'json lines')![1]
    const framed = snappyCompress(data)
    expect(isXerialFramed(framed)).toBe(true)
    expect(framed.subarray(0, 16).equals(XERIAL_HEADER)).toBe(true)
    let chunks = 0
    for (let pos = 16; pos < framed.length; pos += 4 + framed.readInt32BE(pos)) chunks++
    expect(chunks).toBe(Math.ceil(data.length / 32768))
  })

  it.each(compressionSamples())('decodes raw (librdkafka) and xerial (Java) forms of %s', (_name, data) => {
    expect(snappyDecompress(rawBlock(data), MAX).equals(data)).toBe(true)
    const half = data.length >> 1
    expect(
      snappyDecompress(xerial(rawBlock(data.subarray(0, half)), rawBlock(data.subarray(half))), MAX).equals(data),
    ).toBe(true)
  })

  it('rejects a xerial chunk length past the end', () => {
    const framed = Buffer.from(snappyCompress(Buffer.from('hello hello hello hello')))
    framed.writeInt32BE(1000, 16)
    expect(() => snappyDecompress(framed, MAX)).toThrow(CompressionError)
  })

  it('rejects damaged blocks large enough for the native decoder, raw and framed', () => {
    const data = compressionSamples()
      .find(([name]) => name === 'json lines')![1]
      .subarray(0, 20_000)
    expect(data.length).toBeGreaterThan(NATIVE_MIN_DECODE_BYTES)
    const block = rawBlock(data)
    expect(() => snappyDecompress(block.subarray(0, block.length - 7), MAX)).toThrow(CompressionError)
    const framed = xerial(block)
    expect(() => snappyDecompress(framed.subarray(0, framed.length - 7), MAX)).toThrow(CompressionError)
    // The chunk length still fits, its block does not decode to what it declares.
    const shortened = xerial(block.subarray(0, block.length - 7))
    expect(() => snappyDecompress(shortened, MAX)).toThrow(CompressionError)
  })
})
