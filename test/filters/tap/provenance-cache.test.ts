import { describe, expect, it } from 'vitest'
import { encodeRecordBatch } from '../../../codec/records/index.js'
import { Arena } from '../../../filters/tap/arena.js'
import { type Capture, declaredRecords, newCapture } from '../../../filters/tap/capture.js'
import { captureHeaders } from '../../../filters/tap/decorate.js'
import { ProvenanceCache } from '../../../filters/tap/provenance-cache.js'
import { copyHeaders } from '../../../filters/tap/tap-batch.js'
import { fakeContext } from '../../support/filter-testing.js'

const records = encodeRecordBatch([{ value: Buffer.from('v') }])

function capture(fields: Partial<Capture> = {}, clientId = 'orders-svc'): Capture {
  const c = newCapture(
    {
      direction: 'produce',
      topic: 'orders',
      topicId: undefined,
      partition: 3,
      view: records,
      taps: [],
      ctx: fakeContext({ clientId }),
      fetchOffset: undefined,
    },
    declaredRecords(records),
    new Arena(64 * 1024, 1),
  )
  return Object.assign(c, fields)
}

describe('the tap headers cache', () => {
  it('gives the headers captureHeaders makes, encoded, and the same ones for captures alike', () => {
    const cache = new ProvenanceCache()
    const a = cache.headersFor(capture(), 't', 'pod-a')
    expect(a).toEqual(copyHeaders(captureHeaders(capture(), 't', 'pod-a')))
    expect(cache.headersFor(capture(), 't', 'pod-a')).toBe(a)
  })

  it('tells apart every input of the headers: tap, instance, topic, partition, client, error', () => {
    const cache = new ProvenanceCache()
    const variants = [
      cache.headersFor(capture(), 't', 'pod-a'),
      cache.headersFor(capture(), 'u', 'pod-a'),
      cache.headersFor(capture(), 't', 'pod-b'),
      cache.headersFor(capture({ topic: 'payments' }), 't', 'pod-a'),
      cache.headersFor(capture({ partition: 4 }), 't', 'pod-a'),
      cache.headersFor(capture({}, 'other-svc'), 't', 'pod-a'),
      cache.headersFor(capture({ errorCode: 6 }), 't', 'pod-a'),
      cache.headersFor(capture({ direction: 'fetch' }), 't', 'pod-a'),
      cache.headersFor(capture({ principal: 'shop/orders' }), 't', 'pod-a'),
    ]
    expect(new Set(variants.map((v) => v.bytes.toString('hex'))).size).toBe(variants.length)
  })

  it('stays within its bound, and gives the right headers after it empties itself', () => {
    const cache = new ProvenanceCache(3)
    for (let p = 0; p < 10; p++) {
      const c = capture({ partition: p })
      expect(cache.headersFor(c, 't', 'pod-a')).toEqual(copyHeaders(captureHeaders(c, 't', 'pod-a')))
      expect(cache.size).toBeLessThanOrEqual(3)
    }
  })
})
