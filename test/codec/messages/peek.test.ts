import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { CodecError } from '../../../codec/errors.js'
import { encodeRequest } from '../../../codec/messages/frames.js'
import { ApiKey } from '../../../codec/messages/generated/apis.js'
import { peekProduceAcks } from '../../../codec/messages/peek.js'

describe('peekProduceAcks', () => {
  it('reads acks at every Produce version, with and without client id, transactional id and header tags', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 3, max: 13 }),
        fc.constantFrom(-1, 0, 1),
        fc.option(fc.string({ maxLength: 30 }), { nil: null }),
        fc.option(fc.string({ maxLength: 60 }), { nil: null }),
        fc.boolean(),
        (version, acks, clientId, transactionalId, tagged) => {
          const header = {
            requestApiKey: ApiKey.Produce,
            requestApiVersion: version,
            correlationId: 9,
            clientId,
            ...(tagged && version >= 9 ? { _unknownTaggedFields: [{ tag: 3, data: Buffer.from('xyz') }] } : {}),
          }
          const frame = encodeRequest(header, { transactionalId, acks, timeoutMs: 1000, topicData: [] })
          expect(peekProduceAcks(frame, 4)).toBe(acks)
        },
      ),
    )
  })

  it('gives typed errors for truncated frames', () => {
    const frame = encodeRequest(
      { requestApiKey: ApiKey.Produce, requestApiVersion: 9, correlationId: 1, clientId: 'c' },
      { transactionalId: 'tx', acks: 1, timeoutMs: 1, topicData: [] },
    )
    for (let cut = 4; cut < 4 + 17; cut++) expect(() => peekProduceAcks(frame.subarray(0, cut), 4)).toThrow(CodecError)
  })
})
