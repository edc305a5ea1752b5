import { describe, expect, it } from 'vitest'
import { CodecError, InvalidFieldError, InvalidVarintError } from '../../codec/errors.js'
import { decodeResponse, readResponse } from '../../codec/messages/frames.js'
import { ApiKey } from '../../codec/messages/generated/apis.js'
import { PiecesReader } from '../../codec/primitives/pieces-reader.js'
import { Reader } from '../../codec/primitives/reader.js'

/**
 * Crashes found by the fuzz targets (bench/fuzz.ts), each replayed with its minimal input, so the fix stays.
 * The finding's target, seed and path are noted with each; `node dist/bench/fuzz.js --target T --seed S --path P`
 * replays the original case.
 */

function outcome(fn: () => unknown): string {
  try {
    fn()
    return 'ok'
  } catch (err) {
    expect(err).toBeInstanceOf(CodecError)
    return (err as CodecError).code
  }
}

describe('fuzz regressions', () => {
  // messages, seed -1069466177: a frame whose header tag is a 5-byte varint past 32 bits was refused by Reader
  // (InvalidVarintError) but accepted by PiecesReader, so a frame decoded differently when it came in pieces.
  it('PiecesReader refuses a 5-byte varint past 32 bits, as Reader does', () => {
    const bytes = Buffer.from([0xff, 0xff, 0xff, 0xff, 0x1f])
    expect(() => new Reader(bytes).uvarint()).toThrow(InvalidVarintError)
    expect(() => new PiecesReader([bytes.subarray(0, 2), bytes.subarray(2)]).uvarint()).toThrow(InvalidVarintError)
    // 2^32 - 1 is the largest a 5-byte varint may carry.
    const max = Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f])
    expect(new Reader(max).uvarint()).toBe(0xffffffff)
    expect(new PiecesReader([max]).uvarint()).toBe(0xffffffff)
  })

  it('PiecesReader refuses a 10-byte varlong past 64 bits, as Reader does', () => {
    const bytes = Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f])
    expect(() => new Reader(bytes).uvarlong()).toThrow(InvalidVarintError)
    expect(() => new PiecesReader([bytes.subarray(0, 3), bytes.subarray(3)]).uvarlong()).toThrow(InvalidVarintError)
    const max = Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01])
    expect(new Reader(max).uvarlong()).toBe(2n ** 64n - 1n)
    expect(new PiecesReader([max]).uvarlong()).toBe(2n ** 64n - 1n)
  })

  it('a ProduceResponse v11 frame decodes the same in one piece and in pieces', () => {
    // Response header v1: correlation id 0, one tagged field whose tag is 0xffffffff1f; then the body.
    const frame = Buffer.from('0000000001ffffffff1f00020101000000000000', 'hex')
    const whole = outcome(() => decodeResponse(frame, ApiKey.Produce, 11))
    const pieces = outcome(() =>
      readResponse(new PiecesReader([frame.subarray(0, 7), frame.subarray(7)]), ApiKey.Produce, 11),
    )
    expect(whole).toBe('KSC_ERR_CODEC_INVALID_VARINT')
    expect(pieces).toBe(whole)
  })

  // records-messages: a non-nullable string with a negative length other than -1 (0x8000) gave InvalidFieldError
  // from Reader but InvalidLengthError from PiecesReader; error codes are stable, so both must give the same.
  it('PiecesReader refuses a negative non-nullable string length as Reader does', () => {
    const bytes = Buffer.from([0x80, 0x00, 0x61])
    expect(() => new Reader(bytes).string(false, 'topic')).toThrow(InvalidFieldError)
    expect(() => new PiecesReader([bytes]).string(false, 'topic')).toThrow(InvalidFieldError)
    const compact = Buffer.from([0x00])
    expect(() => new Reader(compact).string(true, 'topic')).toThrow(InvalidFieldError)
    expect(() => new PiecesReader([compact]).string(true, 'topic')).toThrow(InvalidFieldError)
  })

  it('a FetchResponse v7 with a topic name of length -32768 gives one error code in one piece and in pieces', () => {
    // throttle_time_ms, error_code, session_id, one topic, topic name length 0x8000.
    const body = Buffer.from('00000000' + '0000' + '00000000' + '00000001' + '8000', 'hex')
    const frame = Buffer.concat([Buffer.from('00000007', 'hex'), body])
    const whole = outcome(() => decodeResponse(frame, ApiKey.Fetch, 7))
    const pieces = outcome(() =>
      readResponse(new PiecesReader([frame.subarray(0, 9), frame.subarray(9)]), ApiKey.Fetch, 7),
    )
    expect(whole).toBe('KSC_ERR_CODEC_INVALID_FIELD')
    expect(pieces).toBe(whole)
  })
})
