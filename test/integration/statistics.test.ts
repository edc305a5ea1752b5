import { execFile } from 'node:child_process'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { Kafka, logLevel } from 'kafkajs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ApiKey } from '../../codec/messages/generated/apis.js'
import type { ClientSnapshot, StatsSnapshot } from '../../src/stats/snapshot.js'
import { createTopic, getCluster, runKafkaTool, runKcat, uniqueTopicName, waitFor } from '../harness/index.js'
import { ConsumedRecords } from '../support/consumed-records.js'
import { clientLabelSets, metricValue } from '../support/prometheus-text.js'
import { RawKafkaClient } from '../support/raw-client.js'
import { type StatsSidecar, startStatsSidecar } from '../support/stats-sidecar.js'

const execFileAsync = promisify(execFile)
const CLI = new URL('../../dist/src/cli.js', import.meta.url).pathname

/**
 * Record batch framing is counted in the byte figures (they are the bytes of the record batches on the wire, not
 * the payload): a 61-byte v2 batch header per batch and a per-record header of at most ~15 bytes here (varint
 * length, attributes, timestamp and offset deltas, key length, value length, header count). The tolerance is
 * therefore payload <= bytes <= payload + OVERHEAD_PER_RECORD * records (worst case: one record per batch).
 * Record counts must match exactly: they come from the batch headers' record counts.
 */
const OVERHEAD_PER_RECORD = 61 + 15

function expectBytesWithin(bytes: number, payload: number, records: number): void {
  expect(bytes).toBeGreaterThanOrEqual(payload)
  expect(bytes).toBeLessThanOrEqual(payload + OVERHEAD_PER_RECORD * records)
}

const clientOf = (s: StatsSnapshot, id: string): ClientSnapshot => {
  const c = s.clients.find((x) => x.clientId === id)
  if (c === undefined) throw new Error(`no client ${id} in /stats: ${s.clients.map((x) => x.clientId).join(', ')}`)
  return c
}

describe('per-client statistics through a real broker (kafkajs, kcat, Java)', () => {
  const cluster = getCluster('single')
  let sc: StatsSidecar
  let dir: string
  let auditFile: string
  const topicA = uniqueTopicName('stats-a') // kafkajs produces, kcat consumes
  const topicB = uniqueTopicName('stats-b') // kcat produces, kafkajs consumes
  const topicC = uniqueTopicName('stats-c') // the Java console producer
  const KAFKAJS_RECORDS = 200
  const KAFKAJS_VALUE = 100
  const KCAT_RECORDS = 150
  const KCAT_VALUE = 80

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ksc-stats-'))
    auditFile = join(dir, 'audit.jsonl')
    sc = await startStatsSidecar(cluster.bootstrapServers, { audit: { enabled: true, file: auditFile } })
    await Promise.all([createTopic(cluster.description, topicB), createTopic(cluster.description, topicC)])
  })
  afterAll(async () => {
    await sc?.stop()
    await rm(dir, { recursive: true, force: true })
  })

  it('counts produced and fetched bytes and records per client and topic, in /stats and /metrics alike', async () => {
    const kafka = new Kafka({ clientId: 'stats-kafkajs', brokers: [sc.bootstrap], logLevel: logLevel.NOTHING })
    // Created through the sidecar: the audit log records it.
    const admin = kafka.admin()
    await admin.connect()
    await admin.createTopics({
      topics: [{ topic: topicA, numPartitions: 3, replicationFactor: 1 }],
      waitForLeaders: true,
    })
    await admin.disconnect()

    const producer = kafka.producer()
    await producer.connect()
    for (let batch = 0; batch < 4; batch++) {
      await producer.send({
        topic: topicA,
        acks: -1,
        messages: Array.from({ length: KAFKAJS_RECORDS / 4 }, (_, i) => ({
          value: `${String(batch * 50 + i).padStart(5, '0')}`.padEnd(KAFKAJS_VALUE, '.'),
        })),
      })
    }
    await producer.disconnect()

    const kcatLines = Array.from({ length: KCAT_RECORDS }, (_, i) =>
      `${String(i).padStart(5, '0')}`.padEnd(KCAT_VALUE, '-'),
    )
    const produced = await runKcat(
      ['-b', sc.bootstrap, '-t', topicB, '-P', '-X', 'client.id=stats-kcat', '-X', 'acks=all', '-z', 'none'],
      { input: `${kcatLines.join('\n')}\n` },
    )
    expect(produced.code, produced.stderr).toBe(0)

    const consumed = await runKcat([
      ...['-b', sc.bootstrap, '-C', '-t', topicA, '-o', 'beginning', '-e', '-q'],
      ...['-X', 'client.id=stats-kcat'],
    ])
    expect(consumed.code, consumed.stderr).toBe(0)
    expect(consumed.stdout.split('\n').filter(Boolean)).toHaveLength(KAFKAJS_RECORDS)

    const consumer = kafka.consumer({ groupId: `stats-group-${topicB}`, maxWaitTimeInMs: 200 })
    await consumer.connect()
    await consumer.subscribe({ topic: topicB, fromBeginning: true })
    const received = new ConsumedRecords<true>()
    await consumer.run({
      eachMessage: async ({ topic, partition, message }) => {
        received.add(topic, partition, message.offset, true)
      },
    })
    await waitFor('kafkajs consumed the kcat records', () => received.size === KCAT_RECORDS, { timeoutMs: 60_000 })
    await consumer.disconnect()

    const java = await runKafkaTool(
      cluster,
      'console-producer',
      [
        ...['--bootstrap-server', sc.bootstrap, '--topic', topicC],
        ...['--command-property', 'client.id=stats-java', '--command-property', 'acks=all'],
      ],
      { input: 'one\ntwo\nthree\n' },
    )
    expect(java.code, java.stderr).toBe(0)

    const stats = await sc.stats()
    const metrics = await sc.metrics()
    const kafkajs = clientOf(stats, 'stats-kafkajs')
    const kcat = clientOf(stats, 'stats-kcat')

    // kafkajs produced to A, kcat fetched A; kcat produced to B, kafkajs fetched B.
    expect(kafkajs.produce[topicA]!.records).toBe(KAFKAJS_RECORDS)
    expectBytesWithin(kafkajs.produce[topicA]!.bytes, KAFKAJS_RECORDS * KAFKAJS_VALUE, KAFKAJS_RECORDS)
    expect(kcat.fetch[topicA]!.records).toBe(KAFKAJS_RECORDS)
    expectBytesWithin(kcat.fetch[topicA]!.bytes, KAFKAJS_RECORDS * KAFKAJS_VALUE, KAFKAJS_RECORDS)
    expect(kcat.produce[topicB]!.records).toBe(KCAT_RECORDS)
    expectBytesWithin(kcat.produce[topicB]!.bytes, KCAT_RECORDS * KCAT_VALUE, KCAT_RECORDS)
    expect(kafkajs.fetch[topicB]!.records).toBe(KCAT_RECORDS)
    expectBytesWithin(kafkajs.fetch[topicB]!.bytes, KCAT_RECORDS * KCAT_VALUE, KCAT_RECORDS)
    // Nothing crossed over.
    expect(kafkajs.produce[topicB]).toBeUndefined()
    expect(kcat.produce[topicA]).toBeUndefined()

    // Connection-level figures hold the topic-level ones: request bytes >= produced bytes, response bytes >= fetched.
    expect(kafkajs.apis.Produce!.bytesIn).toBeGreaterThan(kafkajs.produce[topicA]!.bytes)
    expect(kcat.apis.Fetch!.bytesOut).toBeGreaterThan(kcat.fetch[topicA]!.bytes)
    expect(kafkajs.apis.Produce!.requests).toBe(4)
    expect(kafkajs.apis.Produce!.upstreamMs.count).toBe(4)
    expect(kafkajs.connections.open).toBe(0)
    expect(kafkajs.connections.total).toBeGreaterThan(1)

    // /metrics says the same.
    const labels = (id: string, topic: string) => ({ client_id: id, principal: '', topic })
    expect(metricValue(metrics, 'kafka_sidecar_produce_records_total', labels('stats-kafkajs', topicA))).toBe(
      kafkajs.produce[topicA]!.records,
    )
    expect(metricValue(metrics, 'kafka_sidecar_produce_bytes_total', labels('stats-kafkajs', topicA))).toBe(
      kafkajs.produce[topicA]!.bytes,
    )
    expect(metricValue(metrics, 'kafka_sidecar_fetch_records_total', labels('stats-kcat', topicA))).toBe(
      KAFKAJS_RECORDS,
    )
    expect(metricValue(metrics, 'kafka_sidecar_fetch_bytes_total', labels('stats-kcat', topicA))).toBe(
      kcat.fetch[topicA]!.bytes,
    )
    expect(metricValue(metrics, 'kafka_sidecar_produce_records_total', labels('stats-kcat', topicB))).toBe(KCAT_RECORDS)
    expect(metricValue(metrics, 'kafka_sidecar_fetch_records_total', labels('stats-kafkajs', topicB))).toBe(
      KCAT_RECORDS,
    )
    expect(metricValue(metrics, 'kafka_sidecar_requests_total', { client_id: 'stats-kafkajs', api: 'Produce' })).toBe(4)
    expect(
      metricValue(metrics, 'kafka_sidecar_request_upstream_seconds_count', {
        client_id: 'stats-kafkajs',
        api: 'Produce',
      }),
    ).toBe(4)

    // The Java client says who it is in ApiVersions v3+ (KIP-511): name and the version of its kafka-clients jar.
    const javaClient = clientOf(stats, 'stats-java')
    expect(javaClient.software).toEqual({ name: 'apache-kafka-java', version: cluster.version })
    expect(javaClient.produce[topicC]!.records).toBe(3)
    expect(
      metricValue(metrics, 'kafka_sidecar_client_info', {
        client_id: 'stats-java',
        software_name: 'apache-kafka-java',
        software_version: cluster.version,
      }),
    ).toBe(1)
    // librdkafka reports itself too; kafkajs (ApiVersions v2 at most) cannot.
    expect(kcat.software?.name).toMatch(/librdkafka/)
    expect(kafkajs.software).toBeNull()

    // The audit log: one line per produce request and admin request, and per fetch that returned data.
    const audit = (await readFile(auditFile, 'utf8'))
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { type: string; api: string; clientId: string; topics?: { topic: string }[] })
    expect(audit.every((l) => l.type === 'audit')).toBe(true)
    expect(audit).toContainEqual(
      expect.objectContaining({
        api: 'CreateTopics',
        clientId: 'stats-kafkajs',
        topics: [{ topic: topicA, partitions: 3 }],
      }),
    )
    const kafkajsProduce = audit.filter((l) => l.api === 'Produce' && l.clientId === 'stats-kafkajs')
    expect(kafkajsProduce).toHaveLength(4)
    expect(
      kafkajsProduce.map((l) => l.topics!.reduce((n, t) => n + (t as unknown as { records: number }).records, 0)),
    ).toEqual([50, 50, 50, 50])
    expect(audit.some((l) => l.api === 'Fetch' && l.clientId === 'stats-kcat' && l.topics![0]!.topic === topicA)).toBe(
      true,
    )
    expect(metricValue(metrics, 'kafka_sidecar_audit_lines_total', {})).toBeGreaterThanOrEqual(audit.length)

    // `top --once` renders these clients from the live /stats.
    // Asynchronously: the admin endpoint it reads runs in this process.
    const top = await execFileAsync(process.execPath, [CLI, 'top', '--once', '--admin', sc.adminAddress])
    expect(top.stdout).toMatch(/CLIENT ID\s+CONN\s+REQS/)
    expect(top.stdout).toContain('stats-kafkajs')
    expect(top.stdout).toContain(`apache-kafka-java/${cluster.version}`)
  })

  it('shows the lag kafka-consumer-groups --describe reports for a consumer stopped behind a producer', async () => {
    const topic = uniqueTopicName('stats-lag')
    const group = `stats-lag-${topic}`
    await createTopic(cluster.description, topic, { partitions: 2 })
    const kafka = new Kafka({ clientId: 'lag-producer', brokers: [sc.bootstrap], logLevel: logLevel.NOTHING })
    const producer = kafka.producer()
    await producer.connect()
    const send = (partition: number, count: number) =>
      producer.send({
        topic,
        acks: -1,
        messages: Array.from({ length: count }, (_, i) => ({ partition, value: `p${partition}-${i}` })),
      })
    await send(0, 15)
    await send(1, 15)

    // A Java consumer (Fetch with topic ids, OffsetCommit) reads all 30 through the sidecar, commits and stops.
    const consumed = await runKafkaTool(cluster, 'console-consumer', [
      ...['--bootstrap-server', sc.bootstrap, '--topic', topic, '--group', group, '--from-beginning'],
      ...['--max-messages', '30', '--timeout-ms', '60000', '--command-property', 'client.id=lag-consumer'],
    ])
    expect(consumed.code, consumed.stderr).toBe(0)
    expect(consumed.stdout.split('\n').filter(Boolean)).toHaveLength(30)

    // The producer goes on; nobody consumes.
    await send(0, 40)
    await send(1, 30)
    await producer.disconnect()

    // The broker's own view, asked directly (not through the sidecar).
    const described = await runKafkaTool(cluster, 'consumer-groups', [
      ...['--bootstrap-server', cluster.bootstrapServers, '--describe', '--group', group],
    ])
    expect(described.code, described.stderr).toBe(0)
    const toolLag = new Map<number, number>()
    for (const line of described.stdout.split('\n')) {
      const cols = line.trim().split(/\s+/)
      if (cols[1] === topic) toolLag.set(Number(cols[2]), Number(cols[5]))
    }
    expect(toolLag).toEqual(
      new Map([
        [0, 40],
        [1, 30],
      ]),
    )

    // Everything is quiet, so "within one fetch interval" means: equal once the last answers have passed.
    let groupStats: StatsSnapshot['groups'][number] | undefined
    await waitFor(
      '/stats lag equal to the tool',
      async () => {
        groupStats = (await sc.stats()).groups.find((g) => g.group === group)
        return (
          groupStats !== undefined &&
          [...toolLag].every(([p, lag]) => groupStats!.partitions.find((x) => x.partition === p)?.lag === lag)
        )
      },
      { timeoutMs: 10_000 },
    ).catch(() => undefined)
    expect(groupStats?.partitions.map((p) => ({ topic: p.topic, partition: p.partition, lag: p.lag }))).toEqual([
      { topic, partition: 0, lag: toolLag.get(0) },
      { topic, partition: 1, lag: toolLag.get(1) },
    ])
    expect(groupStats!.partitions.map((p) => [p.committedOffset, p.logEndOffset, p.committedBy])).toEqual([
      [15, 55, 'lag-consumer'],
      [15, 45, 'lag-consumer'],
    ])
    expect(groupStats!.lag).toBe(70)
    // The stopped consumer left the group (LeaveGroup on close); the lag stays with the client that committed.
    expect(groupStats!.members).toEqual([])
    const stats = await sc.stats()
    expect(clientOf(stats, 'lag-consumer').lag).toBe(70)
    const metrics = await sc.metrics()
    expect(metricValue(metrics, 'kafka_sidecar_consumer_lag_records', { group, topic, partition: '0' })).toBe(40)
    expect(metricValue(metrics, 'kafka_sidecar_consumer_lag_records', { group, topic, partition: '1' })).toBe(30)
  })
})

describe('cardinality control', () => {
  const cluster = getCluster('single')
  const MAX = 20
  let sc: StatsSidecar

  beforeAll(async () => {
    sc = await startStatsSidecar(cluster.bootstrapServers, { maxClientIds: MAX })
  })
  afterAll(async () => {
    await sc?.stop()
  })

  it('1,000 distinct client ids leave at most maxClientIds + 1 label sets', async () => {
    const CLIENTS = 1000
    for (let start = 0; start < CLIENTS; start += 50) {
      await Promise.all(
        Array.from({ length: 50 }, async (_, j) => {
          const client = await RawKafkaClient.connect(sc.bootstrap)
          try {
            await client.request(
              ApiKey.ApiVersions,
              3,
              { clientSoftwareName: 'cardinality-test', clientSoftwareVersion: String(start + j) },
              `card-${start + j}`,
            )
          } finally {
            client.close()
          }
        }),
      )
    }
    await waitFor('every connection closed', async () => (await sc.stats()).process.connectionsOpen === 0, {
      timeoutMs: 10_000,
    })
    const metrics = await sc.metrics()
    const sets = clientLabelSets(metrics)
    expect(sets.size).toBeLessThanOrEqual(MAX + 1)
    expect(sets.has('other|')).toBe(true)
    expect(metricValue(metrics, 'kafka_sidecar_client_ids_folded_total', {})).toBe(CLIENTS - MAX)
    expect(metricValue(metrics, 'kafka_sidecar_requests_total', { client_id: 'other', api: 'ApiVersions' })).toBe(
      CLIENTS - MAX,
    )
    const stats = await sc.stats()
    expect(stats.clients.length).toBeLessThanOrEqual(MAX + 1)
    expect(stats.cardinality).toMatchObject({ maxClientIds: MAX, clientIds: MAX, clientIdsFolded: CLIENTS - MAX })
    expect(stats.process.connectionsTotal).toBe(CLIENTS)
  })
})
