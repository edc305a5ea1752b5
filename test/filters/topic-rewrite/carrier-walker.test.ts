import { describe, expect, it } from 'vitest'
import { API_DEFINITIONS } from '../../../codec/messages/generated/apis.js'
import {
  carriesNames,
  kindMask,
  type NameKind,
  type NameTranslation,
  resourceKindsFor,
  rewriteMessages,
  walkNames,
} from '../../../filters/topic-rewrite/carrier-walker.js'
import { ApiKey } from '../../../src/pipeline/filter-api.js'
import { request, response } from '../../support/filter-testing.js'

/** Every API and direction that carries names of these kinds, with the versions, as one line each. */
function carriers(kinds: NameKind[]): string[] {
  const mask = kindMask(kinds)
  const out: string[] = []
  for (const def of API_DEFINITIONS) {
    if (def === undefined) continue
    for (const dir of ['request', 'response'] as const) {
      const vs: number[] = []
      for (let v = def[dir].minVersion; v <= def[dir].maxVersion; v++)
        if (carriesNames(def.apiKey, v, dir, mask)) vs.push(v)
      if (vs.length > 0) out.push(`${def.name} ${dir} ${vs[0]}-${vs[vs.length - 1]}`)
    }
  }
  return out
}

const upper: NameTranslation = { translate: (_k, n) => n.toUpperCase() }

describe('carrier walk', () => {
  it('finds every topic name carrier of Kafka 4.4 clients send through a broker (pinned)', () => {
    expect(carriers(['topic'])).toEqual([
      'Produce request 3-12',
      'Produce response 3-12',
      'Fetch request 4-12',
      'Fetch response 4-12',
      'ListOffsets request 1-11',
      'ListOffsets response 1-11',
      'Metadata request 0-13',
      'Metadata response 0-13',
      'OffsetCommit request 2-9',
      'OffsetCommit response 2-9',
      'OffsetFetch request 1-9',
      'OffsetFetch response 1-9',
      'CreateTopics request 2-7',
      'CreateTopics response 2-7',
      'DeleteTopics request 1-6',
      'DeleteTopics response 1-6',
      'DeleteRecords request 0-2',
      'DeleteRecords response 0-2',
      'OffsetForLeaderEpoch request 2-4',
      'OffsetForLeaderEpoch response 2-4',
      'AddPartitionsToTxn request 0-5',
      'AddPartitionsToTxn response 0-5',
      'WriteTxnMarkers request 1-2',
      'WriteTxnMarkers response 1-2',
      'TxnOffsetCommit request 0-5',
      'TxnOffsetCommit response 0-5',
      'DescribeAcls request 1-3',
      'DescribeAcls response 1-3',
      'CreateAcls request 1-3',
      'DeleteAcls request 1-3',
      'DeleteAcls response 1-3',
      'DescribeConfigs request 1-4',
      'DescribeConfigs response 1-4',
      'AlterConfigs request 0-2',
      'AlterConfigs response 0-2',
      'AlterReplicaLogDirs request 1-2',
      'AlterReplicaLogDirs response 1-2',
      'DescribeLogDirs request 1-5',
      'DescribeLogDirs response 1-5',
      'CreatePartitions request 0-3',
      'CreatePartitions response 0-3',
      'ElectLeaders request 0-2',
      'ElectLeaders response 0-2',
      'IncrementalAlterConfigs request 0-1',
      'IncrementalAlterConfigs response 0-1',
      'AlterPartitionReassignments request 0-1',
      'AlterPartitionReassignments response 0-1',
      'ListPartitionReassignments request 0-0',
      'ListPartitionReassignments response 0-0',
      'OffsetDelete request 0-0',
      'OffsetDelete response 0-0',
      'DescribeQuorum request 0-2',
      'DescribeQuorum response 0-2',
      'DescribeProducers request 0-0',
      'DescribeProducers response 0-0',
      'DescribeTransactions response 0-0',
      'ConsumerGroupHeartbeat request 0-1',
      'ConsumerGroupDescribe response 0-1',
      'ListConfigResources response 1-1',
      'DescribeTopicPartitions request 0-0',
      'DescribeTopicPartitions response 0-0',
      'ShareGroupHeartbeat request 1-1',
      'ShareGroupDescribe response 1-1',
      'StreamsGroupHeartbeat request 0-1',
      'StreamsGroupHeartbeat response 0-1',
      'StreamsGroupDescribe response 0-1',
      'DescribeShareGroupOffsets request 0-1',
      'DescribeShareGroupOffsets response 0-1',
      'AlterShareGroupOffsets request 0-0',
      'AlterShareGroupOffsets response 0-0',
      'DeleteShareGroupOffsets request 0-0',
      'DeleteShareGroupOffsets response 0-0',
      'StreamsGroupTopologyDescriptionUpdate request 0-0',
    ])
  })

  it('topic ids are not names: Fetch v13+, Produce v13 and KIP-848 assignments carry none', () => {
    const topic = kindMask(['topic'])
    expect(carriesNames(ApiKey.Fetch, 13, 'request', topic)).toBe(false)
    expect(carriesNames(ApiKey.Fetch, 15, 'response', topic)).toBe(false)
    expect(carriesNames(ApiKey.Produce, 13, 'request', topic)).toBe(false)
    expect(carriesNames(ApiKey.ConsumerGroupHeartbeat, 1, 'response', topic)).toBe(false)
    // Produce v13 still carries the transactional id.
    expect(carriesNames(ApiKey.Produce, 13, 'request', kindMask(['txn']))).toBe(true)
  })

  it('group ids and transactional ids are found the same way', () => {
    const groups = carriers(['group'])
    expect(groups).toContain('JoinGroup request 0-9')
    expect(groups).toContain('OffsetCommit request 2-10')
    expect(groups).toContain('ListGroups response 0-5')
    expect(groups).toContain('ConsumerGroupHeartbeat request 0-1')
    const txns = carriers(['txn'])
    expect(txns).toContain('InitProducerId request 0-6')
    expect(txns).toContain('EndTxn request 0-5')
    expect(txns).toContain('TxnOffsetCommit request 0-6')
    expect(txns).toContain('Produce request 3-13')
  })

  it('maps names in place, drops array elements whose own name is hidden, keeps ids', () => {
    const res = response(ApiKey.Metadata, 12, {
      topics: [
        { name: 'orders-canary', topicId: 'AAAAAAAAAAAAAAAAAAAAAQ', partitions: [{ partitionIndex: 0 }] },
        { name: 'orders', topicId: 'AAAAAAAAAAAAAAAAAAAAAg' },
        { name: 'payments', topicId: 'AAAAAAAAAAAAAAAAAAAAAw' },
      ],
    })
    const t: NameTranslation = {
      translate: (_k, real) => (real === 'orders-canary' ? 'orders' : real === 'orders' ? undefined : real),
    }
    const r = walkNames('MetadataResponse', 12, res.body, kindMask(['topic']), t, () => undefined)
    expect(r.modified).toBe(true)
    expect(res.body.topics.map((x) => [x.name, x.topicId])).toEqual([
      ['orders', 'AAAAAAAAAAAAAAAAAAAAAQ'],
      ['payments', 'AAAAAAAAAAAAAAAAAAAAAw'],
    ])
  })

  it('[]string carriers: entries mapped, hidden ones left out', () => {
    const req = request(ApiKey.DeleteTopics, 5, { topicNames: ['a', 'b', 'c'] })
    const t: NameTranslation = { translate: (_k, n) => (n === 'b' ? undefined : `${n}!`) }
    walkNames('DeleteTopicsRequest', 5, req.body, kindMask(['topic']), t, () => undefined)
    expect(req.body.topicNames).toEqual(['a!', 'c!'])
  })

  it('config resources: topics and groups by ConfigResource type; brokers untouched', () => {
    const req = request(ApiKey.DescribeConfigs, 4, {
      resources: [
        { resourceType: 2, resourceName: 'orders' },
        { resourceType: 4, resourceName: '1' },
        { resourceType: 32, resourceName: 'grp' },
      ],
    })
    walkNames(
      'DescribeConfigsRequest',
      4,
      req.body,
      kindMask(['topic', 'group']),
      upper,
      resourceKindsFor(ApiKey.DescribeConfigs),
    )
    expect(req.body.resources.map((r) => r.resourceName)).toEqual(['ORDERS', '1', 'GRP'])
  })

  it('ACL resources: literal names of topics, groups and transactional ids; prefixed patterns and * untouched', () => {
    const req = request(ApiKey.CreateAcls, 3, {
      creations: [
        { resourceType: 2, resourceName: 'orders', resourcePatternType: 3 },
        { resourceType: 2, resourceName: 'ord', resourcePatternType: 4 },
        { resourceType: 2, resourceName: '*', resourcePatternType: 3 },
        { resourceType: 5, resourceName: 'tx', resourcePatternType: 3 },
        { resourceType: 4, resourceName: 'kafka-cluster', resourcePatternType: 3 },
      ],
    })
    walkNames('CreateAclsRequest', 3, req.body, kindMask(['topic', 'txn']), upper, resourceKindsFor(ApiKey.CreateAcls))
    expect(req.body.creations.map((c) => c.resourceName)).toEqual(['ORDERS', 'ord', '*', 'TX', 'kafka-cluster'])
  })

  it('collects error messages and rewrites whole names in them only', () => {
    const res = response(ApiKey.CreateTopics, 7, {
      topics: [{ name: 'orders-canary', errorCode: 36, errorMessage: "Topic 'orders-canary' already exists." }],
    })
    const t: NameTranslation = { translate: (_k, n) => (n === 'orders-canary' ? 'orders' : n) }
    const r = walkNames('CreateTopicsResponse', 7, res.body, kindMask(['topic']), t, () => undefined)
    expect(r.messages).toHaveLength(1)
    expect(rewriteMessages(r.messages, new Map([['orders-canary', 'orders']]))).toBe(true)
    expect(res.body.topics[0]!.errorMessage).toBe("Topic 'orders' already exists.")
    const other = { holder: { m: 'orders-canary-2 and xorders-canary stay; orders-canary. goes' }, prop: 'm' }
    rewriteMessages([other], new Map([['orders-canary', 'orders']]))
    expect(other.holder.m).toBe('orders-canary-2 and xorders-canary stay; orders. goes')
  })
})
