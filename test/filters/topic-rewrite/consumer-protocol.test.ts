import { describe, expect, it } from 'vitest'
import type { ConsumerProtocolSubscription } from '../../../codec/messages/generated/consumer-protocol-subscription.js'
import {
  assignmentTopics,
  mapAssignment,
  mapSubscription,
  subscriptionTopics,
} from '../../../filters/topic-rewrite/consumer-protocol.js'
import { assignmentBytes, subscriptionBytes } from './consumer-protocol-bytes.js'

const canary = (n: string) => (n === 'orders' ? 'orders-canary' : n)

describe('consumer protocol bytes', () => {
  it('v0 (kafkajs, librdkafka before owned partitions): topics mapped, user data kept', () => {
    const bytes = subscriptionBytes({ topics: ['orders', 'payments'], userData: Buffer.from('ud') }, 0)
    const out = mapSubscription(bytes, canary)!
    expect(subscriptionTopics(out)).toEqual({ topics: ['orders-canary', 'payments'], owned: [] })
    expect(out.subarray(out.length - 2).toString()).toBe('ud')
    expect(out.readInt16BE(0)).toBe(0)
  })

  it('v3 (Java): owned partitions mapped, generation and rack kept', () => {
    const m: ConsumerProtocolSubscription = {
      topics: ['orders'],
      userData: null,
      ownedPartitions: [{ topic: 'orders', partitions: [0, 2] }],
      generationId: 7,
      rackId: 'r1',
    }
    const out = mapSubscription(subscriptionBytes(m, 3), canary)!
    const expected = subscriptionBytes(
      { ...m, topics: ['orders-canary'], ownedPartitions: [{ topic: 'orders-canary', partitions: [0, 2] }] },
      3,
    )
    expect(out.equals(expected)).toBe(true)
  })

  it('a newer version is read as v3 and its extra bytes kept (as Kafka does)', () => {
    const m: ConsumerProtocolSubscription = {
      topics: ['orders'],
      userData: null,
      ownedPartitions: [],
      generationId: -1,
      rackId: null,
    }
    const tail = Buffer.from([1, 2, 3, 4])
    const out = mapSubscription(subscriptionBytes(m, 9, tail), canary)!
    expect(out.readInt16BE(0)).toBe(9)
    expect(out.subarray(out.length - 4)).toEqual(tail)
    expect(subscriptionTopics(out)?.topics).toEqual(['orders-canary'])
  })

  it('nothing to map: undefined, the original bytes stay', () => {
    expect(mapSubscription(subscriptionBytes({ topics: ['payments'], userData: null }, 0), canary)).toBeUndefined()
    expect(mapSubscription(Buffer.alloc(0), canary)).toBeUndefined()
  })

  it('assignments, every version', () => {
    for (const v of [0, 1, 3]) {
      const bytes = assignmentBytes({ assignedPartitions: [{ topic: 'orders', partitions: [1] }], userData: null }, v)
      expect(assignmentTopics(mapAssignment(bytes, canary)!)).toEqual([{ topic: 'orders-canary', partitions: [1] }])
    }
  })

  it('bytes that are not a subscription throw a codec error', () => {
    expect(() => mapSubscription(Buffer.from([0, 0, 0, 0, 0, 9]), canary)).toThrow()
  })
})
