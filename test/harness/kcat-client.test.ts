import { randomBytes } from 'node:crypto'
import { beforeAll, describe, expect, it } from 'vitest'
import { createTopic, replicationFactorFor, runKcat, sharedClusters, uniqueTopicName } from './index.js'

const MESSAGE_COUNT = 200

describe.each(sharedClusters())('kcat against $name (Kafka $version)', (cluster) => {
  const bootstrap = cluster.bootstrapServers

  it('lists every broker in metadata', async () => {
    const result = await runKcat(['-b', bootstrap, '-L', '-J', '-m', '15'])
    expect(result.code, result.stderr).toBe(0)
    const metadata = JSON.parse(result.stdout) as { brokers: Array<{ id: number; name: string }> }
    expect(metadata.brokers.map((broker) => broker.name).sort()).toEqual(
      cluster.nodes.map((node) => `${node.host}:${node.port}`).sort(),
    )
  })

  describe('round trip', () => {
    let topic: string

    beforeAll(async () => {
      topic = uniqueTopicName('kcat')
      await createTopic(cluster, topic, { partitions: 3, replicationFactor: replicationFactorFor(cluster) })
    })

    it(`produces ${MESSAGE_COUNT} keyed messages (-P) and consumes exactly those (-C -e)`, async () => {
      const run = randomBytes(4).toString('hex')
      const lines = Array.from({ length: MESSAGE_COUNT }, (_, i) => `key-${i}:value-${i}-${run}`)
      const produced = await runKcat(['-b', bootstrap, '-t', topic, '-P', '-K', ':', '-X', 'enable.idempotence=true'], {
        input: `${lines.join('\n')}\n`,
      })
      expect(produced.code, produced.stderr).toBe(0)

      const consumed = await runKcat([
        '-b',
        bootstrap,
        '-t',
        topic,
        '-C',
        '-o',
        'beginning',
        '-e',
        '-q',
        '-f',
        '%k:%s\n',
      ])
      expect(consumed.code, consumed.stderr).toBe(0)
      const received = consumed.stdout.split('\n').filter((line) => line !== '')
      expect(received.length).toBe(MESSAGE_COUNT)
      expect(received.sort()).toEqual([...lines].sort())
    })
  })
})
