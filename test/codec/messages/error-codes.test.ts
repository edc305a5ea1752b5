import { describe, expect, it } from 'vitest'
import {
  ErrorCode,
  isRetriable,
  KAFKA_ERRORS,
  kafkaError,
  kafkaErrorName,
} from '../../../codec/messages/error-codes.js'

/**
 * The error table is generated from Kafka's Errors enum in the kafka-clients jar (codec/generator/java/
 * PrintErrors.java); these pin facts any Kafka 4.x release has, so a broken generation cannot pass.
 */
describe('Kafka error codes', () => {
  it('are named as Kafka names them', () => {
    expect(ErrorCode.NONE).toBe(0)
    expect(ErrorCode.UNKNOWN_SERVER_ERROR).toBe(-1)
    expect(ErrorCode.CORRUPT_MESSAGE).toBe(2)
    expect(ErrorCode.NOT_LEADER_OR_FOLLOWER).toBe(6)
    expect(ErrorCode.TOPIC_AUTHORIZATION_FAILED).toBe(29)
    expect(ErrorCode.ILLEGAL_SASL_STATE).toBe(34)
    expect(ErrorCode.UNSUPPORTED_VERSION).toBe(35)
    expect(ErrorCode.INVALID_RECORD).toBe(87)
    expect(ErrorCode.THROTTLING_QUOTA_EXCEEDED).toBe(89)
    expect(ErrorCode.UNKNOWN_TOPIC_ID).toBe(100)
  })

  it('table and names agree, one entry per code and per name, ascending', () => {
    const codes = KAFKA_ERRORS.map((e) => e.code)
    expect(new Set(codes).size).toBe(codes.length)
    expect([...codes].sort((a, b) => a - b)).toEqual(codes)
    expect(Object.keys(ErrorCode)).toHaveLength(KAFKA_ERRORS.length)
    for (const e of KAFKA_ERRORS) {
      expect(ErrorCode[e.name]).toBe(e.code)
      expect(kafkaErrorName(e.code)).toBe(e.name)
      expect(kafkaError(e.code)).toBe(e)
    }
    expect(KAFKA_ERRORS.length).toBeGreaterThan(130)
  })

  it('say which errors clients retry by themselves (the exception extends RetriableException)', () => {
    for (const retriable of [
      ErrorCode.CORRUPT_MESSAGE,
      ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
      ErrorCode.NOT_LEADER_OR_FOLLOWER,
      ErrorCode.REQUEST_TIMED_OUT,
      ErrorCode.COORDINATOR_NOT_AVAILABLE,
      ErrorCode.THROTTLING_QUOTA_EXCEEDED,
    ]) {
      expect(isRetriable(retriable), kafkaErrorName(retriable)).toBe(true)
    }
    for (const fatal of [
      ErrorCode.NONE,
      ErrorCode.UNKNOWN_SERVER_ERROR,
      ErrorCode.TOPIC_AUTHORIZATION_FAILED,
      ErrorCode.INVALID_RECORD,
      ErrorCode.POLICY_VIOLATION,
      ErrorCode.UNSUPPORTED_VERSION,
    ]) {
      expect(isRetriable(fatal), kafkaErrorName(fatal)).toBe(false)
    }
    expect(isRetriable(30_000)).toBe(false)
  })

  it('carry Kafka default messages and exception names', () => {
    expect(kafkaError(ErrorCode.INVALID_RECORD)).toMatchObject({
      name: 'INVALID_RECORD',
      retriable: false,
      exception: 'InvalidRecordException',
      message: 'This record has failed the validation on broker and hence will be rejected.',
    })
    expect(kafkaError(ErrorCode.NONE)).toMatchObject({ exception: '', message: '' })
    for (const e of KAFKA_ERRORS) if (e.code !== 0) expect(e.message.length, e.name).toBeGreaterThan(5)
  })

  it('show unknown codes as their number', () => {
    expect(kafkaErrorName(0)).toBe('NONE')
    expect(kafkaErrorName(30_000)).toBe('30000')
    expect(kafkaError(30_000)).toBeUndefined()
  })
})
