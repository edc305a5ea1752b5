import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { getCluster, runKcat, uniqueTopicName } from '../harness/index.js'
import { recordingServerFactory } from '../support/recording-server.js'
import { startTestSidecar, type TestSidecar } from '../support/test-sidecar.js'

const COUNT = 200

describe('kcat (librdkafka) through the sidecar, 3-node cluster', () => {
  const cluster = getCluster('triple')
  const upstreamHost = cluster.description.nodes[0]!.host
  const recorder = recordingServerFactory()
  let sc: TestSidecar
  let topic: string

  beforeAll(async () => {
    sc = await startTestSidecar(cluster.description.bootstrapServers, {}, { serverFactory: recorder.factory })
    topic = uniqueTopicName('kcat-sc')
  })
  afterAll(async () => {
    await sc?.stop()
  })

  it('-L lists every broker at a sidecar address, none at an upstream address', async () => {
    const result = await runKcat(['-b', sc.bootstrap, '-L', '-J', '-m', '15'])
    expect(result.code, result.stderr).toBe(0)
    const md = JSON.parse(result.stdout) as { brokers: { id: number; name: string }[] }
    expect(md.brokers.map((b) => b.id).sort()).toEqual(cluster.description.nodes.map((n) => n.id).sort())
    for (const b of md.brokers) expect(b.name).toBe(`127.0.0.1:${sc.config.brokers.portBase + b.id}`)
    expect(result.stdout + result.stderr).not.toContain(upstreamHost)
  })

  it('produces and consumes known messages, also in a consumer group', async () => {
    const run = randomBytes(4).toString('hex')
    const lines = Array.from({ length: COUNT }, (_, i) => `key-${i}:value-${i}-${run}`)
    const produced = await runKcat(
      [
        '-b',
        sc.bootstrap,
        '-t',
        topic,
        '-P',
        '-K',
        ':',
        '-X',
        'acks=all',
        '-X',
        'topic.metadata.refresh.interval.ms=1000',
      ],
      {
        input: `${lines.join('\n')}\n`,
      },
    )
    expect(produced.code, produced.stderr).toBe(0)

    const consumed = await runKcat([
      '-b',
      sc.bootstrap,
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
    expect(consumed.stdout.split('\n').filter(Boolean).sort()).toEqual([...lines].sort())

    // -G: balanced consumer group (FindCoordinator, JoinGroup, SyncGroup, OffsetCommit via the coordinator's listener).
    const group = `kcat-group-${run}`
    const grouped = await runKcat(
      ['-b', sc.bootstrap, '-G', group, '-e', '-q', '-f', '%s\n', '-X', 'auto.offset.reset=earliest', topic],
      { timeoutMs: 90_000 },
    )
    expect(grouped.code, grouped.stderr).toBe(0)
    expect(grouped.stdout.split('\n').filter(Boolean).length).toBe(COUNT)
  })

  it('no byte sent to any client carries the upstream broker address', () => {
    const all = Buffer.concat(recorder.sent)
    expect(all.length).toBeGreaterThan(0)
    expect(all.includes(Buffer.from(upstreamHost))).toBe(false)
    for (const n of cluster.description.nodes) {
      // The upstream port as it would appear in Metadata: int32 big-endian right after the host string.
      const encoded = Buffer.concat([Buffer.from(upstreamHost), Buffer.from([0, 0, n.port >> 8, n.port & 0xff])])
      expect(all.includes(encoded)).toBe(false)
    }
  })
})
