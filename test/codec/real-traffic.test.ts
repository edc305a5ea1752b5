import { randomBytes } from 'node:crypto'
import { mkdir, writeFile } from 'node:fs/promises'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { CompressionTypes, ConfigResourceTypes, Kafka, logLevel } from 'kafkajs'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { ApiKey } from '../../codec/messages/generated/apis.js'
import { ControlRecordType } from '../../codec/records/index.js'
import { allocatePorts } from '../harness/free-port.js'
import { KafkaCluster, runKafkaTool, runKcat } from '../harness/index.js'
import { RecordingRelay } from '../harness/recording-relay.js'
import { runTransactionalProducer } from '../support/transactional-producer.js'
import {
  apiName,
  type CheckedFrame,
  checkConnection,
  type DecodedRecordsField,
  decodeRecordsField,
  isFlexible,
  type RecordsField,
  recordsFields,
  topicNames,
} from './traffic-check.js'

/**
 * Real clients (kafkajs, kcat/librdkafka, Kafka's Java tools and a Java transactional producer) talk to a real
 * broker through a recording relay; afterwards every captured frame, both directions, must decode with the codec
 * and re-encode to the identical bytes, and every record batch in Produce requests and Fetch responses must
 * decode (CRC checked, every compression type, transaction markers).
 *
 * The broker advertises the relay as its PLAINTEXT listener, so clients reconnect through it after bootstrap and
 * all of their traffic is captured, not just the first Metadata round trip. The broker's own inter-broker clients
 * reach the partition leader and the transaction coordinator (itself) through the advertised address too, so its
 * WriteTxnMarkers and its transaction-verification AddPartitionsToTxn v5 (KIP-890) are captured as well: with
 * transaction version 2 the Java producer itself sends no AddPartitionsToTxn, kafkajs (v1) still does.
 */

const BROKER_HOST = '127.0.0.2'
const RUN = randomBytes(3).toString('hex')
const CODECS = ['gzip', 'snappy', 'lz4', 'zstd'] as const
const COMPRESSION_ID = { none: 0, gzip: 1, snappy: 2, lz4: 3, zstd: 4 } as const
const LINES_PER_CODEC = 40
const KAFKAJS_MESSAGES = 20
const KCAT_MESSAGES = 20
/** A value snappy shrinks even alone in its batch (the run of one letter), so librdkafka never sends it uncompressed. */
const kcatValue = (i: number): string => `kcat-${i}-${RUN}-${'z'.repeat(120)}`
const TXN_COMMITTED = 5
const TXN_ABORTED = 3
/** An ApiVersions version no broker (and not the codec) knows, for the KIP-511 fallback. */
const PROBE_VERSION = 127

const topics = {
  kafkajs: `rt-kafkajs-${RUN}`,
  doomed: `rt-doomed-${RUN}`,
  tools: `rt-tools-${RUN}`,
  kcat: `rt-kcat-${RUN}`,
  txn: `rt-txn-${RUN}`,
  ...Object.fromEntries(CODECS.map((codec) => [codec, `rt-${codec}-${RUN}`])),
} as { [K in 'kafkajs' | 'doomed' | 'tools' | 'kcat' | 'txn' | (typeof CODECS)[number]]: string }

/** Client ids every data client sets, so the capture can be attributed (and checked to hold their traffic). */
const CLIENT = {
  kafkajs: 'rt-kafkajs',
  kcatProducer: 'rt-kcat-producer',
  kcatConsumer: 'rt-kcat-consumer',
  kcatMetadata: 'rt-kcat-metadata',
  consoleProducer: (codec: string) => `rt-console-producer-${codec}`,
  consoleConsumer: 'rt-console-consumer',
  readCommitted: 'rt-console-consumer-read-committed',
  txnProducer: 'rt-txn-producer',
  probe: 'rt-kip511-probe',
} as const

/** Produced lines per compression type, in order. */
const consoleLines = Object.fromEntries(
  CODECS.map((codec) => [
    codec,
    Array.from({ length: LINES_PER_CODEC }, (_, i) => `${codec}-line-${i}-${RUN}-${'x'.repeat(20 + (i % 7) * 11)}`),
  ]),
) as { [K in (typeof CODECS)[number]]: string[] }

let relay: RecordingRelay
let cluster: KafkaCluster
let bootstrap: string

const log = (message: string): void => {
  process.stderr.write(`[real-traffic] ${message}\n`)
}

/** Runs the tasks with at most `limit` at a time: JVM start-ups compete for two cores with the broker. */
async function inBatches<T>(limit: number, tasks: Array<() => Promise<T>>): Promise<T[]> {
  const results: T[] = new Array(tasks.length)
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < tasks.length) {
      const i = next++
      results[i] = await tasks[i]!()
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, tasks.length) }, worker))
  return results
}

async function tool(
  name: Parameters<typeof runKafkaTool>[1],
  args: string[],
  options: Parameters<typeof runKafkaTool>[3] = {},
): Promise<string> {
  const result = await runKafkaTool(cluster, name, args, { timeoutMs: 90_000, ...options })
  expect(result.code, `kafka-${name} ${args.join(' ')}\n${result.stderr}`).toBe(0)
  // Tools exit 0 even when sends failed (the console producer only logs them): show their complaints.
  if (/ERROR|WARN|Exception/.test(result.stderr)) log(`kafka-${name} ${args.join(' ')}\n${result.stderr}`)
  return result.stdout
}

async function kcat(args: string[], input?: string): Promise<string> {
  const result = await runKcat(['-b', bootstrap, ...args], {
    timeoutMs: 60_000,
    ...(input !== undefined && { input }),
  })
  expect(result.code, `kcat ${args.join(' ')}\n${result.stderr}`).toBe(0)
  return result.stdout
}

// Real brokers and JVM clients: part of the normal suite (vitest.config.ts and its globalSetup). A broker-less
// unit-test config that includes test/codec has no globalSetup, and this file is skipped there.
const underHarness = (inject('kafkaControlUrl') as string | undefined) !== undefined

describe.skipIf(!underHarness)('real client traffic through a recording relay', () => {
  beforeAll(async () => {
    const [brokerPort] = await allocatePorts(BROKER_HOST, 1)
    relay = await RecordingRelay.start({ target: { host: BROKER_HOST, port: brokerPort! } })
    bootstrap = relay.address
    cluster = await KafkaCluster.start({
      name: 'real-traffic',
      brokerPorts: [brokerPort!],
      // The harness binds the broker on BROKER_HOST:brokerPort; clients are told to come back via the relay.
      brokerProperties: { 'advertised.listeners': `PLAINTEXT://${relay.address}` },
      log,
    })
  }, 180_000)

  afterAll(async () => {
    await cluster?.stop()
    await relay?.close()
  })

  it('kafkajs: admin (create/delete topics, describe configs), producer, consumer group with commits', async () => {
    const kafka = new Kafka({ clientId: CLIENT.kafkajs, brokers: [bootstrap], logLevel: logLevel.NOTHING })
    const admin = kafka.admin()
    await admin.connect()
    try {
      await admin.createTopics({
        waitForLeaders: true,
        topics: [
          { topic: topics.kafkajs, numPartitions: 2, replicationFactor: 1 },
          { topic: topics.doomed, numPartitions: 1, replicationFactor: 1 },
          { topic: topics.kcat, numPartitions: 1, replicationFactor: 1 },
          { topic: topics.txn, numPartitions: 1, replicationFactor: 1 },
          ...CODECS.map((codec) => ({ topic: topics[codec], numPartitions: 1, replicationFactor: 1 })),
        ],
      })
      const configs = await admin.describeConfigs({
        includeSynonyms: false,
        resources: [{ type: ConfigResourceTypes.TOPIC, name: topics.kafkajs }],
      })
      expect(configs.resources[0]!.configEntries.some((entry) => entry.configName === 'cleanup.policy')).toBe(true)
      await admin.deleteTopics({ topics: [topics.doomed] })
    } finally {
      await admin.disconnect()
    }

    const producer = kafka.producer()
    await producer.connect()
    const sent: string[] = []
    try {
      const batch = (from: number, count: number) =>
        Array.from({ length: count }, (_, i) => {
          const value = `kafkajs-${from + i}-${RUN}`
          sent.push(value)
          return { key: `k${(from + i) % 5}`, value }
        })
      await producer.send({ topic: topics.kafkajs, acks: -1, messages: batch(0, KAFKAJS_MESSAGES / 2) })
      await producer.send({
        topic: topics.kafkajs,
        acks: -1,
        compression: CompressionTypes.GZIP,
        messages: batch(KAFKAJS_MESSAGES / 2, KAFKAJS_MESSAGES / 2),
      })
      // acks=0: the broker sends no response, which the request/response pairing must cope with.
      await producer.send({ topic: topics.kafkajs, acks: 0, messages: batch(KAFKAJS_MESSAGES, 1) })
    } finally {
      await producer.disconnect()
    }

    const consumer = kafka.consumer({
      groupId: `rt-kafkajs-group-${RUN}`,
      heartbeatInterval: 200,
      maxWaitTimeInMs: 300,
    })
    const received = new Set<string>()
    let heartbeats = 0
    let commitsAfterAll = 0
    consumer.on(consumer.events.HEARTBEAT, () => {
      heartbeats++
    })
    consumer.on(consumer.events.COMMIT_OFFSETS, () => {
      if (received.size === sent.length) commitsAfterAll++
    })
    await consumer.connect()
    try {
      await consumer.subscribe({ topic: topics.kafkajs, fromBeginning: true })
      await consumer.run({
        eachMessage: async ({ message }) => {
          received.add(message.value!.toString())
        },
      })
      const deadline = Date.now() + 60_000
      while ((received.size < sent.length || heartbeats === 0 || commitsAfterAll === 0) && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 100))
      }
    } finally {
      await consumer.disconnect()
    }
    expect([...received].sort()).toEqual([...sent].sort())
    expect(heartbeats).toBeGreaterThan(0)
    expect(commitsAfterAll).toBeGreaterThan(0)

    // The group admin APIs at kafkajs' (non-flexible) versions: DescribeGroups, ListGroups, OffsetFetch, ListOffsets.
    const groupAdmin = kafka.admin()
    await groupAdmin.connect()
    try {
      const groupId = `rt-kafkajs-group-${RUN}`
      const [described, listed, offsets] = await Promise.all([
        groupAdmin.describeGroups([groupId]),
        groupAdmin.listGroups(),
        groupAdmin.fetchOffsets({ groupId, topics: [topics.kafkajs] }),
      ])
      expect(described.groups[0]!.groupId).toBe(groupId)
      expect(listed.groups.map((g) => g.groupId)).toContain(groupId)
      const committed = offsets[0]!.partitions.reduce((n, p) => n + Number(p.offset), 0)
      expect(committed).toBe(sent.length)
      await groupAdmin.fetchTopicOffsets(topics.kafkajs)
    } finally {
      await groupAdmin.disconnect()
    }
  })

  it('kafkajs transactional producer: InitProducerId, AddPartitionsToTxn, EndTxn at non-flexible versions', async () => {
    const kafka = new Kafka({ clientId: CLIENT.kafkajs, brokers: [bootstrap], logLevel: logLevel.NOTHING })
    const producer = kafka.producer({
      transactionalId: `rt-kafkajs-tx-${RUN}`,
      idempotent: true,
      maxInFlightRequests: 1,
    })
    await producer.connect()
    try {
      const committed = await producer.transaction()
      await committed.send({ topic: topics.kafkajs, messages: [{ key: 'tx', value: `kafkajs-tx-committed-${RUN}` }] })
      await committed.commit()
      const aborted = await producer.transaction()
      await aborted.send({ topic: topics.kafkajs, messages: [{ key: 'tx', value: `kafkajs-tx-aborted-${RUN}` }] })
      await aborted.abort()
    } finally {
      await producer.disconnect()
    }
  })

  it('Kafka tools: kafka-topics --create/--describe, kafka-configs --describe', async () => {
    await tool('topics', [
      ...['--bootstrap-server', bootstrap, '--create', '--topic', topics.tools],
      ...['--partitions', '2', '--replication-factor', '1'],
    ])
    const [described, configs] = await inBatches(2, [
      () => tool('topics', ['--bootstrap-server', bootstrap, '--describe', '--topic', topics.tools]),
      () =>
        tool('configs', [
          ...['--bootstrap-server', bootstrap, '--describe', '--all'],
          ...['--entity-type', 'topics', '--entity-name', topics.tools],
        ]),
    ])
    expect(described).toContain(topics.tools)
    expect(configs).toContain('cleanup.policy')
  })

  it('Java console producer with each compression type', async () => {
    await inBatches(
      2,
      CODECS.map((codec) => async () => {
        await tool(
          'console-producer',
          [
            ...['--bootstrap-server', bootstrap, '--topic', topics[codec], '--compression-codec', codec],
            ...['--command-property', `client.id=${CLIENT.consoleProducer(codec)}`],
            // Some batching: several lines per batch, as with a real application.
            ...['--command-property', 'linger.ms=50'],
          ],
          { input: `${consoleLines[codec].join('\n')}\n` },
        )
      }),
    )
  })

  it('kcat: produce (-P, snappy), metadata (-L), group consumer (-G) that commits', async () => {
    const lines = Array.from({ length: KCAT_MESSAGES }, (_, i) => `key-${i}:${kcatValue(i)}`)
    // librdkafka sends a batch uncompressed when snappy does not make it smaller; under load its linger (5 ms) can
    // split stdin into one-record batches. A long linger gathers the lines (kcat's flush at EOF sends at once), and
    // each value is compressible on its own, so every batch is snappy whatever the timing.
    await kcat(
      [
        ...['-t', topics.kcat, '-P', '-K', ':', '-z', 'snappy', '-X', 'acks=all', '-X', 'linger.ms=2000'],
        ...['-X', `client.id=${CLIENT.kcatProducer}`],
      ],
      `${lines.join('\n')}\n`,
    )
    const metadata = await kcat(['-L', '-J', '-X', `client.id=${CLIENT.kcatMetadata}`])
    expect((JSON.parse(metadata) as { brokers: Array<{ name: string }> }).brokers.map((b) => b.name)).toEqual([
      relay.address,
    ])
    const consumed = await kcat([
      ...['-G', `rt-kcat-group-${RUN}`, topics.kcat],
      ...['-c', String(KCAT_MESSAGES), '-q', '-f', '%k:%s\n'],
      ...['-X', `client.id=${CLIENT.kcatConsumer}`, '-X', 'auto.offset.reset=earliest'],
      ...['-X', 'auto.commit.interval.ms=200'],
    ])
    expect(consumed.split('\n').filter(Boolean).sort()).toEqual([...lines].sort())
  })

  it('Java transactional producer (commit then abort) and a read_committed console consumer', async () => {
    const summary = await runTransactionalProducer(cluster, bootstrap, topics.txn, TXN_COMMITTED, TXN_ABORTED, {
      transactionalId: `rt-tx-${RUN}`,
      clientId: CLIENT.txnProducer,
      // TxnOffsetCommit too (and AddOffsetsToTxn from brokers without transaction version 2).
      offsetsGroup: `rt-txn-offsets-${RUN}`,
    })
    expect(summary).toMatchObject({ committed: TXN_COMMITTED, aborted: TXN_ABORTED, partitions: [0] })

    const output = await tool('console-consumer', [
      ...['--bootstrap-server', bootstrap, '--topic', topics.txn, '--from-beginning'],
      ...['--isolation-level', 'read_committed', '--max-messages', String(TXN_COMMITTED), '--timeout-ms', '60000'],
      ...['--group', `rt-read-committed-${RUN}`],
      ...['--command-property', `client.id=${CLIENT.readCommitted}`],
      // The KIP-848 consumer protocol: ConsumerGroupHeartbeat instead of JoinGroup/SyncGroup/Heartbeat.
      ...['--command-property', 'group.protocol=consumer'],
    ])
    expect(output.split('\n').filter(Boolean)).toEqual(
      Array.from({ length: TXN_COMMITTED }, (_, i) => `committed-${i}`),
    )
  })

  it('Java console consumer in a group (commits), kafka-consumer-groups --describe, kafka-topics --delete', async () => {
    const group = `rt-console-group-${RUN}`
    const output = await tool('console-consumer', [
      ...['--bootstrap-server', bootstrap, '--topic', topics.gzip, '--from-beginning', '--group', group],
      ...['--max-messages', String(LINES_PER_CODEC), '--timeout-ms', '60000'],
      ...['--command-property', `client.id=${CLIENT.consoleConsumer}`],
    ])
    expect(output.split('\n').filter(Boolean)).toEqual(consoleLines.gzip)
    const [groups] = await inBatches(2, [
      () => tool('consumer-groups', ['--bootstrap-server', bootstrap, '--describe', '--group', group]),
      () => tool('topics', ['--bootstrap-server', bootstrap, '--delete', '--topic', topics.tools]),
    ])
    // The committed offset (LINES_PER_CODEC) is what --describe reports as CURRENT-OFFSET.
    expect(groups).toMatch(new RegExp(`${topics.gzip}\\s+0\\s+${LINES_PER_CODEC}\\s`))
  })

  it('KIP-511: an ApiVersions request above the broker maximum gets a v0 UNSUPPORTED_VERSION answer', async () => {
    const response = await rawRoundTrip(relay.host, relay.port, apiVersionsRequestFrame(PROBE_VERSION, 1, CLIENT.probe))
    // Response header v0 (correlation id), then a v0 body: error_code 35 first.
    expect(response.readInt32BE(4)).toBe(1)
    expect(response.readInt16BE(8)).toBe(35)
  })

  it('every captured frame decodes and re-encodes byte-identical; record batches decode', async () => {
    // Stop the broker first so every response it wrote has reached the relay; then close the relay.
    await cluster.stop()
    await relay.idle(10_000)
    await relay.close()

    const checked: CheckedFrame[] = []
    const incomplete: string[] = []
    for (const connection of relay.connections) {
      const requests = connection.frames('upstream')
      const responses = connection.frames('downstream')
      if (requests.incompleteBytes + responses.incompleteBytes > 0) {
        incomplete.push(
          `connection ${connection.id}: ${requests.incompleteBytes} request / ${responses.incompleteBytes} response byte(s) after the last whole frame`,
        )
      }
      checked.push(...checkConnection({ id: connection.id, requests: requests.frames, responses: responses.frames }))
    }

    report(checked, incomplete)

    // 1. No genuine codec failure: every frame the codec covers decodes and re-encodes to the same bytes.
    const failures = checked.filter(
      (f) => f.outcome === 'mismatch' || f.outcome === 'decode-error' || f.outcome === 'unpaired',
    )
    if (failures.length > 0) await dumpFailures(failures)
    expect(failures.map(describeFrame)).toEqual([])

    // 2. Frames the codec does not cover by design: only the KIP-511 probe's request (above the newest version).
    const undecodable = checked.filter((f) => f.outcome === 'undecodable')
    expect(undecodable.filter((f) => f.clientId !== CLIENT.probe).map(describeFrame)).toEqual([])
    expect(undecodable.map((f) => `${f.direction} ${apiName(f.apiKey)} v${f.apiVersion}`)).toEqual([
      `request ApiVersions v${PROBE_VERSION}`,
    ])
    const probeAnswer = checked.find((f) => f.clientId === CLIENT.probe && f.direction === 'response')
    expect(probeAnswer).toMatchObject({ outcome: 'identical', decodedVersion: 0 })

    // 3. Every client's data traffic went through the relay, not just its bootstrap connection.
    const dataClients = new Set(
      checked
        .filter((f) => f.direction === 'request' && (f.apiKey === ApiKey.Produce || f.apiKey === ApiKey.Fetch))
        .map((f) => f.clientId),
    )
    for (const client of [
      CLIENT.kafkajs,
      CLIENT.kcatProducer,
      CLIENT.kcatConsumer,
      ...CODECS.map(CLIENT.consoleProducer),
      CLIENT.consoleConsumer,
      CLIENT.readCommitted,
      CLIENT.txnProducer,
    ]) {
      expect(dataClients, `Produce/Fetch of ${client} in the capture`).toContain(client)
    }

    // Clients only ever learned the relay's address: every broker and coordinator address handed out is the relay.
    const advertised = new Set<string>()
    for (const frame of checked) {
      if (frame.direction !== 'response' || frame.outcome !== 'identical') continue
      const body = frame.decoded!.body as {
        brokers?: Array<{ host: string; port: number }>
        host?: string
        port?: number
        coordinators?: Array<{ host: string; port: number }>
      }
      if (frame.apiKey === ApiKey.Metadata || frame.apiKey === ApiKey.DescribeCluster) {
        for (const broker of body.brokers ?? []) advertised.add(`${broker.host}:${broker.port}`)
      } else if (frame.apiKey === ApiKey.FindCoordinator) {
        if (body.host) advertised.add(`${body.host}:${body.port}`)
        for (const coordinator of body.coordinators ?? [])
          if (coordinator.host) advertised.add(`${coordinator.host}:${coordinator.port}`)
      }
    }
    expect([...advertised]).toEqual([relay.address])

    // 4. Coverage: the APIs and versions real clients use, flexible and not.
    const pairs = coveredPairs(checked)
    const has = (api: number, predicate: (version: number, clients: Set<string>) => boolean): boolean =>
      [...pairs.values()].some((p) => p.apiKey === api && predicate(p.apiVersion, p.clients))
    const javaClient = (clients: Set<string>): boolean =>
      [...clients].some((c) => c.startsWith('rt-console-') || c === CLIENT.txnProducer)
    // kafkajs 2.2.4 never uses flexible versions: Produce v7, Fetch v11 are its maxima.
    expect(has(ApiKey.Produce, (v, c) => v === 7 && c.has(CLIENT.kafkajs))).toBe(true)
    expect(has(ApiKey.Fetch, (v, c) => v === 11 && c.has(CLIENT.kafkajs))).toBe(true)
    expect(has(ApiKey.Produce, (v, c) => isFlexible(ApiKey.Produce, v) && javaClient(c))).toBe(true)
    expect(has(ApiKey.Fetch, (v, c) => isFlexible(ApiKey.Fetch, v) && javaClient(c))).toBe(true)
    for (const api of [
      ApiKey.Metadata,
      ApiKey.FindCoordinator,
      ApiKey.JoinGroup,
      ApiKey.SyncGroup,
      ApiKey.Heartbeat,
      ApiKey.OffsetCommit,
      ApiKey.OffsetFetch,
      ApiKey.ApiVersions,
      ApiKey.CreateTopics,
      ApiKey.DeleteTopics,
      ApiKey.DescribeConfigs,
      ApiKey.InitProducerId,
      ApiKey.AddPartitionsToTxn,
      ApiKey.EndTxn,
    ]) {
      expect(
        has(api, () => true),
        `${apiName(api)} in the capture`,
      ).toBe(true)
    }
    // Both encodings: kafkajs and kcat non-flexible, Java flexible.
    for (const api of [
      ApiKey.Metadata,
      ApiKey.JoinGroup,
      ApiKey.SyncGroup,
      ApiKey.OffsetCommit,
      ApiKey.OffsetFetch,
      ApiKey.FindCoordinator,
      ApiKey.ApiVersions,
      ApiKey.CreateTopics,
      ApiKey.DeleteTopics,
      ApiKey.DescribeConfigs,
    ]) {
      expect(
        has(api, (v) => isFlexible(api, v)),
        `${apiName(api)} flexible`,
      ).toBe(true)
      expect(
        has(api, (v) => !isFlexible(api, v)),
        `${apiName(api)} non-flexible`,
      ).toBe(true)
    }

    // 5. Record batches: every batch in every Produce request and Fetch response decodes, CRC checked.
    const names = topicNames(checked)
    const fields: Array<{ field: RecordsField; topic: string; decoded: DecodedRecordsField }> = []
    for (const field of recordsFields(checked)) {
      const topic = field.topic ?? names.get(field.topicId ?? '') ?? `id:${field.topicId}`
      fields.push({ field, topic, decoded: decodeRecordsField(field) })
    }
    reportRecords(fields)
    expect(fields.every((f) => f.decoded.legacy === 0)).toBe(true)

    // The Java producer's batches, per compression type, hold exactly the lines sent, in order.
    for (const codec of CODECS) {
      const produced = fields.filter((f) => f.field.source === 'produce' && f.topic === topics[codec])
      expect(produced.length, `Produce requests to ${topics[codec]}`).toBeGreaterThan(0)
      const batches = produced.flatMap((f) => f.decoded.batches)
      expect(new Set(batches.map((b) => b.batch.compression))).toEqual(new Set([COMPRESSION_ID[codec]]))
      expect(batches.flatMap((b) => b.records.map((r) => r.value!.toString('utf8')))).toEqual(consoleLines[codec])
      // The broker keeps the producer's compression (compression.type=producer): Fetch returns those batches.
      if (codec === 'gzip') {
        const fetched = fields.filter((f) => f.field.source === 'fetch' && f.topic === topics.gzip)
        const values = fetched.flatMap((f) =>
          f.decoded.batches.flatMap((b) => b.records.map((r) => r.value!.toString())),
        )
        expect(values.slice(0, LINES_PER_CODEC)).toEqual(consoleLines.gzip)
      }
    }

    // Transactions: the read_committed consumer's Fetch responses carry the aborted transaction and both
    // markers, and the data batches of both transactions.
    const txnFetches = fields.filter(
      (f) => f.field.source === 'fetch' && f.topic === topics.txn && f.field.frame.clientId === CLIENT.readCommitted,
    )
    expect(txnFetches.length).toBeGreaterThan(0)
    expect(txnFetches.some((f) => (f.field.abortedTransactions ?? []).length > 0)).toBe(true)
    const txnBatches = txnFetches.flatMap((f) => f.decoded.batches)
    const markers = txnBatches.flatMap((b) => b.control.map((c) => c.type))
    expect(markers).toContain(ControlRecordType.Commit)
    expect(markers).toContain(ControlRecordType.Abort)
    const txnValues = txnBatches
      .filter((b) => !b.batch.isControl)
      .flatMap((b) => b.records.map((r) => r.value!.toString()))
    expect(txnValues).toEqual([
      ...Array.from({ length: TXN_COMMITTED }, (_, i) => `committed-${i}`),
      ...Array.from({ length: TXN_ABORTED }, (_, i) => `aborted-${i}`),
    ])
    expect(txnBatches.filter((b) => !b.batch.isControl).every((b) => b.batch.isTransactional)).toBe(true)

    // kcat (librdkafka) writes raw snappy, Java xerial-framed snappy: both decode.
    const kcatBatches = fields
      .filter((f) => f.field.source === 'produce' && f.topic === topics.kcat)
      .flatMap((f) => f.decoded.batches)
    // Every value compresses on its own (kcatValue), so every batch kcat sent is snappy.
    expect(kcatBatches.length).toBeGreaterThan(0)
    expect(new Set(kcatBatches.map((b) => b.batch.compression))).toEqual(new Set([COMPRESSION_ID.snappy]))
    expect(kcatBatches.flatMap((b) => b.records.map((r) => `${r.key}:${r.value}`)).sort()).toEqual(
      Array.from({ length: KCAT_MESSAGES }, (_, i) => `key-${i}:${kcatValue(i)}`).sort(),
    )
  })
})

interface CoveredPair {
  apiKey: number
  apiVersion: number
  flexible: boolean
  requests: number
  responses: number
  clients: Set<string>
}

/** (api, version) pairs of the frames that decoded and re-encoded identically. */
function coveredPairs(checked: readonly CheckedFrame[]): Map<string, CoveredPair> {
  const pairs = new Map<string, CoveredPair>()
  for (const frame of checked) {
    if (frame.outcome !== 'identical') continue
    const key = `${frame.apiKey}:${frame.decodedVersion}`
    let pair = pairs.get(key)
    if (!pair) {
      pair = {
        apiKey: frame.apiKey,
        apiVersion: frame.decodedVersion,
        flexible: isFlexible(frame.apiKey, frame.decodedVersion),
        requests: 0,
        responses: 0,
        clients: new Set(),
      }
      pairs.set(key, pair)
    }
    if (frame.direction === 'request') pair.requests++
    else pair.responses++
    pair.clients.add(frame.clientId ?? '(null)')
  }
  return pairs
}

function describeFrame(frame: CheckedFrame): string {
  return (
    `connection ${frame.connection} ${frame.direction} #${frame.index} ${apiName(frame.apiKey)} v${frame.apiVersion} ` +
    `correlation ${frame.correlationId} client ${frame.clientId}: ${frame.outcome}${frame.reason ? ` (${frame.reason})` : ''}`
  )
}

/** Writes the frames that failed, for a unit test to reproduce from. */
async function dumpFailures(failures: readonly CheckedFrame[]): Promise<void> {
  const dir = join(tmpdir(), `ksc-real-traffic-failures-${RUN}`)
  await mkdir(dir, { recursive: true })
  for (const frame of failures) {
    const name = `c${frame.connection}-${frame.direction}-${frame.index}-${apiName(frame.apiKey)}-v${frame.apiVersion}.bin`
    await writeFile(join(dir, name), frame.frame)
  }
  console.log(`failing frames written to ${dir}`)
}

function report(checked: readonly CheckedFrame[], incomplete: readonly string[]): void {
  const count = (direction: string, outcome?: string) =>
    checked.filter((f) => f.direction === direction && (outcome === undefined || f.outcome === outcome)).length
  const lines = [
    `captured ${relay.connections.length} connection(s), ${checked.length} frame(s)`,
    `  requests:  ${count('request')} (${count('request', 'identical')} decoded and re-encoded byte-identical)`,
    `  responses: ${count('response')} (${count('response', 'identical')} decoded and re-encoded byte-identical)`,
  ]
  for (const outcome of ['undecodable', 'mismatch', 'decode-error', 'unpaired']) {
    for (const frame of checked.filter((f) => f.outcome === outcome)) lines.push(`  ${describeFrame(frame)}`)
  }
  for (const line of incomplete) lines.push(`  incomplete: ${line}`)
  const pairs = [...coveredPairs(checked).values()].sort((a, b) => a.apiKey - b.apiKey || a.apiVersion - b.apiVersion)
  lines.push(`${pairs.length} (api, version) pair(s) covered:`)
  for (const p of pairs) {
    lines.push(
      `  ${`${apiName(p.apiKey)}(${p.apiKey})`.padEnd(24)} v${String(p.apiVersion).padEnd(3)} ` +
        `${(p.flexible ? 'flexible' : 'non-flexible').padEnd(13)} req ${String(p.requests).padStart(4)} ` +
        `resp ${String(p.responses).padStart(4)}  ${[...p.clients].sort().join(', ')}`,
    )
  }
  console.log(lines.join('\n'))
}

function reportRecords(
  fields: ReadonlyArray<{ field: RecordsField; topic: string; decoded: DecodedRecordsField }>,
): void {
  const rows = new Map<string, { batches: number; records: number; control: number; partial: number }>()
  for (const { field, decoded } of fields) {
    for (const { batch, records } of decoded.batches) {
      const codec =
        Object.entries(COMPRESSION_ID).find(([, id]) => id === batch.compression)?.[0] ?? String(batch.compression)
      const key = `${field.source === 'produce' ? 'Produce request' : 'Fetch response '} ${codec.padEnd(6)} ${
        batch.isControl ? 'control' : batch.isTransactional ? 'transactional' : 'plain'
      }`
      const row = rows.get(key) ?? { batches: 0, records: 0, control: 0, partial: 0 }
      row.batches++
      row.records += records.length
      if (batch.isControl) row.control += records.length
      rows.set(key, row)
    }
  }
  const aborted = fields.reduce((n, f) => n + (f.field.abortedTransactions?.length ?? 0), 0)
  const partial = fields.reduce((n, f) => n + f.decoded.partialBytes, 0)
  const lines = [`record batches decoded (CRC-32C checked) in ${fields.length} records field(s):`]
  for (const [key, row] of [...rows].sort())
    lines.push(`  ${key.padEnd(44)} ${row.batches} batch(es), ${row.records} record(s)`)
  lines.push(`  aborted-transaction entries in Fetch responses: ${aborted}; partial trailing batch bytes: ${partial}`)
  console.log(lines.join('\n'))
}

/**
 * ApiVersions request at `version` with request header v2 (flexible, as KIP-511 has clients send it): the broker
 * reads only the header when it does not support the version, so a v3-shaped body is fine.
 */
function apiVersionsRequestFrame(version: number, correlationId: number, clientId: string): Buffer {
  const id = Buffer.from(clientId)
  const name = Buffer.from('rt-probe')
  const softwareVersion = Buffer.from('1.0')
  const parts = [
    Buffer.from([0, ApiKey.ApiVersions, 0, version]),
    int32(correlationId),
    Buffer.from([id.length >> 8, id.length & 0xff]),
    id,
    Buffer.from([0]), // header tagged fields
    Buffer.from([name.length + 1]),
    name,
    Buffer.from([softwareVersion.length + 1]),
    softwareVersion,
    Buffer.from([0]), // body tagged fields
  ]
  const body = Buffer.concat(parts)
  return Buffer.concat([int32(body.length), body])
}

function int32(n: number): Buffer {
  const b = Buffer.alloc(4)
  b.writeInt32BE(n)
  return b
}

/** Sends one frame and resolves with the first whole response frame (size prefix included). */
function rawRoundTrip(host: string, port: number, frame: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port })
    let received = Buffer.alloc(0)
    const timer = setTimeout(() => {
      socket.destroy()
      reject(new Error('no response within 10 s'))
    }, 10_000)
    socket.on('error', (err) => {
      clearTimeout(timer)
      reject(err)
    })
    socket.on('connect', () => socket.write(frame))
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk])
      if (received.length >= 4 && received.length >= 4 + received.readInt32BE(0)) {
        clearTimeout(timer)
        socket.end()
        resolve(received.subarray(0, 4 + received.readInt32BE(0)))
      }
    })
  })
}
