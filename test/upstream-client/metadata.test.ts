import { describe, expect, it } from 'vitest'
import type { MetadataResponse } from '../../codec/messages/generated/metadata-response.js'
import { ClusterMetadata, type TopicSelection } from '../../src/upstream-client/metadata.js'

const ID_A = 'AAAAAAAAAAAAAAAAAAAAAQ'
const ID_B = 'AAAAAAAAAAAAAAAAAAAAAg'

function topic(name: string | null, id: string, leaders: number[], errorCode = 0) {
  return {
    errorCode,
    name,
    topicId: id,
    isInternal: false,
    partitions: leaders.map((leaderId, partitionIndex) => ({
      errorCode: 0,
      partitionIndex,
      leaderId,
      leaderEpoch: 3,
      replicaNodes: [1, 2],
      isrNodes: [1, 2],
    })),
  }
}

function response(topics: MetadataResponse['topics'], controllerId = 1): MetadataResponse {
  return {
    throttleTimeMs: 0,
    brokers: [
      { nodeId: 1, host: 'b1', port: 9092, rack: null },
      { nodeId: 2, host: 'b2', port: 9092, rack: 'r2' },
    ],
    clusterId: 'c1',
    controllerId,
    topics,
  }
}

/** A fetcher answering from a script, recording what each request asked for. */
function scripted(answer: (s: TopicSelection) => MetadataResponse) {
  const asked: { all: boolean; names: string[]; ids: string[] }[] = []
  const pending: (() => void)[] = []
  let hold = false
  const fetch = (s: TopicSelection) => {
    asked.push({ all: s.all, names: [...s.names].sort(), ids: [...s.ids].sort() })
    const res = { response: answer(s), selection: s }
    if (!hold) return Promise.resolve(res)
    return new Promise<typeof res>((resolve) => pending.push(() => resolve(res)))
  }
  return {
    fetch,
    asked,
    hold: () => {
      hold = true
    },
    release: () => {
      hold = false
      for (const p of pending.splice(0)) p()
    },
  }
}

describe('ClusterMetadata', () => {
  it('keeps brokers, controller, topics with leaders and ids, and id <-> name', async () => {
    const f = scripted(() => response([topic('a', ID_A, [1, 2, -1])]))
    const m = new ClusterMetadata(f.fetch, () => 1234)
    const view = await m.refresh({ names: ['a'] })
    expect([...view.brokers.values()]).toEqual([
      { nodeId: 1, host: 'b1', port: 9092, rack: null },
      { nodeId: 2, host: 'b2', port: 9092, rack: 'r2' },
    ])
    expect(view).toMatchObject({ clusterId: 'c1', controllerId: 1, updatedAt: 1234 })
    expect(m.topic('a')?.partitions.map((p) => p.leader)).toEqual([1, 2, -1])
    expect(m.topic('a')?.id).toBe(ID_A)
    expect(m.nameOf(ID_A)).toBe('a')
  })

  it('merges answers about some topics into what it knew, and forgets a topic the cluster no longer has', async () => {
    let answer = response([topic('a', ID_A, [1]), topic('b', ID_B, [2])])
    const m = new ClusterMetadata(scripted(() => answer).fetch)
    await m.refresh({ names: ['a', 'b'] })
    answer = response([topic('a', ID_A, [2])])
    await m.refresh({ names: ['a'] })
    expect(m.topic('a')?.partitions[0]?.leader).toBe(2)
    expect(m.topic('b')?.partitions[0]?.leader).toBe(2)
    answer = response([topic('b', '', [], 3)]) // UNKNOWN_TOPIC_OR_PARTITION: deleted
    await m.refresh({ names: ['b'] })
    expect(m.topic('b')).toBeUndefined()
    expect(m.nameOf(ID_B)).toBeUndefined()
    expect(m.topicError('b')).toBe(3)
  })

  it('learns names of topics asked for by id (null name in the request, name in the answer)', async () => {
    const m = new ClusterMetadata(scripted(() => response([topic('b', ID_B, [1]), topic(null, ID_A, [], 100)])).fetch)
    await m.refresh({ ids: [ID_A, ID_B] })
    expect(m.nameOf(ID_B)).toBe('b')
    expect(m.nameOf(ID_A)).toBeUndefined()
  })

  it('an answer about every topic replaces the topic list', async () => {
    let answer = response([topic('a', ID_A, [1]), topic('b', ID_B, [1])])
    const m = new ClusterMetadata(scripted(() => answer).fetch)
    await m.refresh({ all: true })
    answer = response([topic('b', ID_B, [1])])
    await m.refresh({ all: true })
    expect([...m.view.topics.keys()]).toEqual(['b'])
    expect(m.nameOf(ID_A)).toBeUndefined()
  })

  it('coalesces refreshes asked while one is out into one next request with every topic asked', async () => {
    const f = scripted(() => response([topic('a', ID_A, [1]), topic('b', ID_B, [1])]))
    const m = new ClusterMetadata(f.fetch)
    f.hold()
    const first = m.refresh({ names: ['a'] })
    const second = m.refresh({ names: ['b'] })
    const third = m.refresh({ ids: [ID_A] })
    expect(f.asked).toHaveLength(1)
    f.release()
    await first
    await new Promise((r) => setImmediate(r))
    f.release()
    await Promise.all([second, third])
    expect(f.asked).toEqual([
      { all: false, names: ['a'], ids: [] },
      { all: false, names: ['b'], ids: [ID_A] },
    ])
  })

  it('rejects every waiter of a failed request, and the next refresh asks again', async () => {
    let fail = true
    const m = new ClusterMetadata(async (s) => {
      if (fail) throw new Error('down')
      return { response: response([topic('a', ID_A, [1])]), selection: s }
    })
    await expect(m.refresh({ names: ['a'] })).rejects.toThrow('down')
    fail = false
    await expect(m.refresh({ names: ['a'] })).resolves.toMatchObject({ clusterId: 'c1' })
  })

  it('throws the top-level error of Metadata v13', () => {
    const m = new ClusterMetadata(async () => {
      throw new Error('unused')
    })
    expect(() =>
      m.apply({ ...response([]), errorCode: 129 }, { all: false, names: new Set(), ids: new Set() }),
    ).toThrow(/REBOOTSTRAP_REQUIRED/)
  })
})
