import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { getCluster, runKafkaTool, uniqueTopicName } from '../harness/index.js'
import { startTestSidecar, type TestSidecar } from '../support/test-sidecar.js'
import { runTransactionalProducer } from '../support/transactional-producer.js'

describe('a Java transactional producer through the sidecar, 3-node cluster', () => {
  const cluster = getCluster('triple')
  let sc: TestSidecar

  beforeAll(async () => {
    sc = await startTestSidecar(cluster.description.bootstrapServers)
  })
  afterAll(async () => {
    await sc?.stop()
  })

  it('commits and aborts: a read_committed consumer sees exactly the committed records', async () => {
    const topic = uniqueTopicName('txn-sc')
    const created = await runKafkaTool(cluster.description, 'topics', [
      '--bootstrap-server',
      sc.bootstrap,
      '--create',
      '--topic',
      topic,
      '--partitions',
      '3',
      '--replication-factor',
      '3',
    ])
    expect(created.code, created.stderr).toBe(0)
    const result = await runTransactionalProducer(cluster.description, sc.bootstrap, topic, 40, 25)
    expect(result.committed).toBe(40)
    expect(result.aborted).toBe(25)

    const readCommitted = await runKafkaTool(
      cluster.description,
      'console-consumer',
      [
        '--bootstrap-server',
        sc.bootstrap,
        '--topic',
        topic,
        '--from-beginning',
        '--isolation-level',
        'read_committed',
        '--timeout-ms',
        '15000',
      ],
      { timeoutMs: 60_000 },
    )
    const committed = readCommitted.stdout.split('\n').filter((l) => /^(committed|aborted)-/.test(l))
    expect(committed.sort()).toEqual(Array.from({ length: 40 }, (_, i) => `committed-${i}`).sort())

    // read_uncommitted sees the aborted records too: they were written, then marked aborted.
    const readUncommitted = await runKafkaTool(
      cluster.description,
      'console-consumer',
      [
        '--bootstrap-server',
        sc.bootstrap,
        '--topic',
        topic,
        '--from-beginning',
        '--isolation-level',
        'read_uncommitted',
        '--timeout-ms',
        '15000',
      ],
      { timeoutMs: 60_000 },
    )
    expect(readUncommitted.stdout.split('\n').filter((l) => l.startsWith('aborted-'))).toHaveLength(25)
  })
})
