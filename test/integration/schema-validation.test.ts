import { execFile } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { SchemaRegistry, SchemaType } from '@kafkajs/confluent-schema-registry'
import { CompressionTypes, Kafka, logLevel } from 'kafkajs'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { validateConfig } from '../../src/config/schema.js'
import { FILTER_PLUGINS } from '../../src/filter-plugins.js'
import { createTopic, getCluster, runKafkaTool, runKcat, uniqueTopicName, waitFor } from '../harness/index.js'
import { SchemaRegistryProcess } from '../harness/schema-registry.js'
import { runConfluentPythonProducer } from '../support/python-confluent.js'
import { runSchemaProducer } from '../support/schema-producer.js'
import { startTestSidecar, type TestSidecar } from '../support/test-sidecar.js'

/**
 * The schema-validation filter in front of a real broker, against a real Apicurio Registry (its Confluent-compatible
 * API), judged by producers nobody here wrote: kafkajs with @kafkajs/confluent-schema-registry, Kafka's Java producer
 * with Apicurio's Avro serde (Confluent framing and header mode; idempotent and transactional), Kafka's console
 * producer, and kcat with raw bytes. What passes is read back directly from the broker and compared byte for byte.
 */

const ORDER_AVRO = JSON.stringify({
  type: 'record',
  name: 'Order',
  namespace: 'shop',
  fields: [
    { name: 'id', type: 'string' },
    { name: 'amount', type: 'int' },
  ],
})
const PAYMENT_JSON = JSON.stringify({
  type: 'object',
  properties: { amount: { type: 'number', minimum: 0 }, currency: { type: 'string' } },
  required: ['amount'],
})

interface DirectRecord {
  partition: number
  offset: number
  value: Buffer | null
  /** kcat's %h (key=value,...), when asked for. */
  headers: string
}

async function kcatConsume(bootstrap: string, topic: string, withHeaders: boolean): Promise<DirectRecord[]> {
  const format = withHeaders ? '%p %o %S\\n%s\\n%h\\n' : '%p %o %S\\n%s\\n'
  const out = await new Promise<Buffer>((resolve, reject) =>
    execFile(
      'kcat',
      [
        '-b',
        bootstrap,
        '-C',
        '-t',
        topic,
        '-o',
        'beginning',
        '-e',
        '-q',
        '-X',
        'isolation.level=read_committed',
        '-f',
        format,
      ],
      { encoding: 'buffer', maxBuffer: 64 << 20, timeout: 30_000 },
      (err, stdout) => (err ? reject(err) : resolve(stdout)),
    ),
  )
  const records: DirectRecord[] = []
  let pos = 0
  while (pos < out.length) {
    const eol = out.indexOf(10, pos)
    const [p, o, size] = out.subarray(pos, eol).toString().split(' ').map(Number) as [number, number, number]
    pos = eol + 1
    const value = size < 0 ? null : Buffer.from(out.subarray(pos, pos + size))
    pos += Math.max(size, 0) + 1
    let headers = ''
    if (withHeaders) {
      const end = out.indexOf(10, pos)
      headers = out.subarray(pos, end).toString('latin1')
      pos = end + 1
    }
    records.push({ partition: p, offset: o, value, headers })
  }
  return records.sort((a, b) => a.partition - b.partition || a.offset - b.offset)
}

async function registerSchema(url: string, subject: string, schemaType: string, schema: string): Promise<number> {
  const res = await fetch(`${url}/subjects/${encodeURIComponent(subject)}/versions`, {
    method: 'POST',
    headers: { 'content-type': 'application/vnd.schemaregistry.v1+json' },
    body: JSON.stringify({ schemaType, schema }),
  })
  const body = (await res.json()) as { id?: number }
  if (res.status !== 200 || body.id === undefined)
    throw new Error(`register ${subject}: ${res.status} ${JSON.stringify(body)}`)
  return body.id
}

describe('schema-validation through the sidecar (1-node cluster, Apicurio Registry)', () => {
  const cluster = getCluster('single')
  const registryDescription = inject('schemaRegistry')
  let registryUrl: string
  let sc: TestSidecar
  const topics = {
    orders: uniqueTopicName('sv-orders'),
    payments: uniqueTopicName('sv-payments'),
    audited: uniqueTopicName('sv-audited'),
    headerMode: uniqueTopicName('sv-apicurio-headers'),
    local: uniqueTopicName('sv-local'),
    shipments: uniqueTopicName('sv-shipments'),
  }
  let paymentsId: number
  let otherId: number
  let schemaDir: string

  const sidecarConfig = (extraRules: Record<string, unknown>[] = []) => ({
    filters: [
      {
        name: 'schema-validation',
        config: {
          // A registry JVM that just started can take seconds over its first calls on a busy machine.
          registry: { url: registryUrl, timeoutMs: 20_000, retryBackoffMs: 200 },
          rules: [
            ...extraRules,
            { topicPrefix: topics.orders, name: 'orders', value: { format: 'avro', registry: { subject: 'topic' } } },
            {
              topic: topics.payments,
              name: 'payments',
              value: { format: 'json-schema', registry: { subject: 'topic' } },
            },
            { topic: topics.audited, name: 'audited', requiredHeaders: ['trace-id'] },
            {
              topic: topics.shipments,
              name: 'shipments',
              value: { format: 'protobuf', registry: { subject: 'topic' } },
            },
            { topic: topics.headerMode, name: 'apicurio-headers', value: { registry: { framing: 'apicurio-header' } } },
            {
              topic: topics.local,
              name: 'local',
              value: { format: 'json-schema', file: join(schemaDir, 'local.json') },
            },
          ],
        },
      },
    ],
  })

  beforeAll(async () => {
    if (registryDescription === null) {
      throw new Error(
        'no schema registry in this run: run with a file filter naming schema-validation, or KSC_TEST_SCHEMA_REGISTRY=1',
      )
    }
    registryUrl = registryDescription.url
    schemaDir = mkdtempSync(join(tmpdir(), 'ksc-sv-it-'))
    writeFileSync(join(schemaDir, 'local.json'), PAYMENT_JSON)
    await Promise.all([
      createTopic(cluster.description, topics.orders, { partitions: 2 }),
      createTopic(cluster.description, `${topics.orders}-tx`, { partitions: 2 }),
      createTopic(cluster.description, topics.payments, { partitions: 2 }),
      createTopic(cluster.description, topics.audited, { partitions: 1 }),
      createTopic(cluster.description, topics.headerMode, { partitions: 1 }),
      createTopic(cluster.description, topics.local, { partitions: 1 }),
      createTopic(cluster.description, topics.shipments, { partitions: 1 }),
      createTopic(cluster.description, `${topics.orders}-py`, { partitions: 1 }),
    ])
    paymentsId = await registerSchema(registryUrl, `${topics.payments}-value`, 'JSON', PAYMENT_JSON)
    otherId = await registerSchema(
      registryUrl,
      `${uniqueTopicName('elsewhere')}-value`,
      'JSON',
      '{"type":"object","title":"Other","properties":{"x":{"type":"string"}}}',
    )
    sc = await startTestSidecar(cluster.description.bootstrapServers, sidecarConfig(), { plugins: FILTER_PLUGINS })
  })
  afterAll(async () => {
    await sc?.stop()
  })

  /**
   * Every record of a topic read directly from the broker by kcat (read_committed, every codec), waiting until there
   * are at least `n`. Values are framed by their length (`%S`), so binary values come back byte for byte.
   */
  async function readDirect(topic: string, n: number, withHeaders = false): Promise<DirectRecord[]> {
    let records: DirectRecord[] = []
    await waitFor(
      `${n} records in ${topic}`,
      async () => {
        records = await kcatConsume(cluster.bootstrapServers, topic, withHeaders)
        return records.length >= n
      },
      { timeoutMs: 30_000, intervalMs: 500 },
    ).catch(() => {})
    return records
  }

  it('kafkajs with @kafkajs/confluent-schema-registry: valid Avro and JSON Schema records pass byte for byte', async () => {
    const registry = new SchemaRegistry({ host: registryUrl })
    const { id: orderId } = await registry.register(
      { type: SchemaType.AVRO, schema: ORDER_AVRO },
      { subject: `${topics.orders}-value` },
    )
    const orders = await Promise.all([0, 1, 2].map((i) => registry.encode(orderId, { id: `o-${i}`, amount: i })))
    const payments = await Promise.all([1, 2].map((amount) => registry.encode(paymentsId, { amount, currency: 'EUR' })))
    const kafka = new Kafka({ clientId: 'sv-kafkajs', brokers: [sc.bootstrap], logLevel: logLevel.NOTHING })
    const producer = kafka.producer({ retry: { retries: 0 } })
    await producer.connect()
    try {
      await producer.send({
        topic: topics.orders,
        compression: CompressionTypes.GZIP,
        messages: orders.map((value) => ({ value, partition: 0 })),
      })
      await producer.send({ topic: topics.payments, messages: payments.map((value) => ({ value, partition: 0 })) })
    } finally {
      await producer.disconnect()
    }
    const ordersBack = await readDirect(topics.orders, 3)
    expect(ordersBack.map((r) => r.value?.toString('hex'))).toEqual(orders.map((b) => b.toString('hex')))
    const paymentsBack = await readDirect(topics.payments, 2)
    expect(paymentsBack.map((r) => r.value?.toString('hex'))).toEqual(payments.map((b) => b.toString('hex')))
    // The registry's own decoder reads them back as written.
    expect(await registry.decode(ordersBack[2]!.value!)).toEqual({ id: 'o-2', amount: 2 })
  })

  it('kafkajs: an invalid record in the middle of a gzip batch rejects that partition with INVALID_RECORD; the other partition of the request is written', async () => {
    const registry = new SchemaRegistry({ host: registryUrl })
    const good = (amount: number) => registry.encode(paymentsId, { amount })
    const invalid = Buffer.concat([(await good(1)).subarray(0, 5), Buffer.from('{"amount":-7}')])
    const kafka = new Kafka({ clientId: 'sv-kafkajs-bad', brokers: [sc.bootstrap], logLevel: logLevel.NOTHING })
    const producer = kafka.producer({ retry: { retries: 0 } })
    await producer.connect()
    const p0 = [await good(10), await good(11)]
    try {
      await expect(
        producer.send({
          topic: topics.payments,
          compression: CompressionTypes.GZIP,
          messages: [
            ...p0.map((value) => ({ value, partition: 0 })),
            { value: await good(20), partition: 1 },
            { value: invalid, partition: 1 },
            { value: await good(22), partition: 1 },
          ],
        }),
      ).rejects.toMatchObject({ type: 'INVALID_RECORD' })
    } finally {
      await producer.disconnect()
    }
    // Partition 0 of the same request: the two records of the test before and these two.
    const back = await readDirect(topics.payments, 4)
    expect(back.filter((r) => r.partition === 1)).toEqual([])
    expect(back.slice(2).map((r) => r.value?.toString('hex'))).toEqual(p0.map((b) => b.toString('hex')))
    const logged = sc.logs.find((l) => String(l.msg).startsWith('schema validation rejected produce'))
    expect(String(logged?.msg)).toContain('record 1: value: /amount must be >= 0')
  })

  it('Java producer, Apicurio Avro serde (Confluent framing), idempotent: InvalidRecordException names the record and the rule; its batch fails, the other partition is written, and the producer carries on', async () => {
    const topic = topics.orders
    const before = (await readDirect(topic, 3)).length
    const result = await runSchemaProducer(sc.bootstrap, registryV3(), topic, {
      records: 4,
      partitions: [0, 1],
      invalidAt: 2,
      compression: 'lz4',
      after: 2,
    })
    const line = (label: string, p: number, i: number) =>
      result.lines.find((l) => l.label === label && l.partition === p && l.index === i)!
    expect(line('RESULT', 1, 2).ok).toBe(false)
    expect(line('RESULT', 1, 2).detail).toMatch(
      /^org\.apache\.kafka\.common\.InvalidRecordException: record 2: value: not a valid Avro shop\.Order: .* \(schema .*-value v1\) \(rule orders\)$/,
    )
    // The rest of the failed batch: Sender#failBatch's generic exception for records that shared it.
    expect(line('RESULT', 1, 0).detail).toMatch(
      /KafkaException: Failed to append record because it was part of a batch which had one more more invalid records/,
    )
    for (let i = 0; i < 4; i++) expect(line('RESULT', 0, i).ok).toBe(true)
    // Idempotence: the producer adjusted the partition's sequence numbers and its next batches are accepted.
    for (const p of [0, 1])
      for (const i of [0, 1]) expect(line('AFTER', p, i).ok, line('AFTER', p, i).detail).toBe(true)
    const back = await readDirect(topic, before + 4 + 2 + 2)
    const p0 = back.filter((r) => r.partition === 0).slice(-6)
    expect(p0.slice(0, 4).map((r) => r.value?.toString('hex'))).toEqual(
      [0, 1, 2, 3].map((i) => result.sent.get(`0/${i}`)),
    )
    expect(back.filter((r) => r.partition === 1)).toHaveLength(2)
  })

  it('Java transactional producer: the failed batch makes the transaction abortable; after abortTransaction a new transaction commits', async () => {
    const topic = `${topics.orders}-tx`
    const result = await runSchemaProducer(sc.bootstrap, registryV3(), topic, {
      records: 3,
      partitions: [0, 1],
      invalidAt: 1,
      transactional: true,
      compression: 'zstd',
    })
    expect(result.lines.find((l) => l.label === 'RESULT' && l.partition === 1 && l.index === 1)?.detail).toMatch(
      /InvalidRecordException: record 1: value: not a valid Avro shop\.Order/,
    )
    expect(result.txn).toEqual(['aborted', 'committed'])
    expect(result.lines.filter((l) => l.label === 'RETRY').every((l) => l.ok)).toBe(true)
    // read_committed: only the second transaction's 3 + 2 records (partition 0's first three were aborted).
    const back = await readDirect(topic, 5)
    expect(back).toHaveLength(5)
  })

  it('Java producer, Apicurio header mode: the content id in apicurio.value.contentId is looked up and the records pass', async () => {
    const result = await runSchemaProducer(sc.bootstrap, registryV3(), topics.headerMode, { records: 3, headers: true })
    expect(
      result.lines.filter((l) => l.label === 'RESULT').map((l) => l.ok),
      result.stdout,
    ).toEqual([true, true, true])
    const back = await readDirect(topics.headerMode, 3, true)
    expect(back.map((r) => r.value?.toString('hex'))).toEqual([0, 1, 2].map((i) => result.sent.get(`0/${i}`)))
    expect(back[0]!.headers).toContain('apicurio.value.contentId=')
  })

  it('Kafka console producer: an unknown schema id, a missing magic byte, a wrong subject, a missing required header: each rejected with its reason', async () => {
    // Text lines become the value bytes as they are (UTF-8); ids below 128 keep every id byte a single character.
    const framed = (id: number, json: string) => `\u0000\u0000\u0000\u0000${String.fromCharCode(id)}${json}`
    expect(otherId).toBeLessThan(128)
    const payments = await runKafkaTool(
      cluster.description,
      'console-producer',
      [
        '--bootstrap-server',
        sc.bootstrap,
        '--topic',
        topics.payments,
        '--producer-property',
        'retries=0',
        '--producer-property',
        'linger.ms=0',
      ],
      { input: `${framed(99, '{"amount":1}')}\n{"amount":1}\n${framed(otherId, '{"amount":1}')}\n`, logLevel: 'info' },
    )
    const out = payments.stdout + payments.stderr
    // The console producer may put the three in one batch: each record then gets its own exception and reason.
    expect(out).toMatch(
      /InvalidRecordException: record \d: value: schema id 99 is not in the registry \(rule payments\)/,
    )
    expect(out).toMatch(
      /InvalidRecordException: record \d: value has no magic byte: starts with 0x7b where a schema registry serializer writes 0x00 and a 4-byte schema id \(rule payments\)/,
    )
    expect(out).toMatch(
      new RegExp(
        `InvalidRecordException: record \\d: value: schema id ${otherId} is not registered under subject ${topics.payments}-value \\(TopicNameStrategy\\); it is under elsewhere-\\S+-value v1 \\(rule payments\\)`,
      ),
    )
    const audited = await runKafkaTool(
      cluster.description,
      'console-producer',
      ['--bootstrap-server', sc.bootstrap, '--topic', topics.audited, '--producer-property', 'retries=0'],
      { input: 'no headers here\n', logLevel: 'info' },
    )
    expect(audited.stdout + audited.stderr).toContain(
      'InvalidRecordException: record 0: header trace-id is missing (rule audited)',
    )
    const withHeader = await runKafkaTool(
      cluster.description,
      'console-producer',
      ['--bootstrap-server', sc.bootstrap, '--topic', topics.audited, '--property', 'parse.headers=true'],
      { input: 'trace-id:t-1\tkept\n' },
    )
    expect(withHeader.code, withHeader.stderr).toBe(0)
    expect((await readDirect(topics.audited, 1)).map((r) => r.value?.toString())).toEqual(['kept'])
  })

  it('confluent-kafka-python: Protobuf (its registered descriptor, message indexes [1]) and Avro records pass byte for byte; a broken Protobuf record rejects its batch with INVALID_RECORD', async () => {
    // The serializer registers shop.Shipment and shop.Return itself (a serialized FileDescriptorProto).
    const good = await runConfluentPythonProducer(sc.bootstrap, registryUrl, topics.shipments, 'protobuf', 3)
    expect(good.results, good.stderr).toEqual(['OK 0', 'OK 1', 'OK 2'])
    // Confluent framing with the message indexes of the second message: count 1, index 1 (zigzag varints 02 02).
    expect(good.sent[0]!.slice(10, 14)).toBe('0202')
    const back = await readDirect(topics.shipments, 3)
    expect(back.map((r) => r.value?.toString('hex'))).toEqual(good.sent)
    const bad = await runConfluentPythonProducer(sc.bootstrap, registryUrl, topics.shipments, 'protobuf', 3, 1)
    const why = `sent ${bad.sent.join(' ')}\n${bad.stderr}`
    const invalid = 'ERR INVALID_RECORD: Broker: Broker failed to validate record'
    // The broken record is refused with INVALID_RECORD, and with it whatever shares its batch. Which records share it
    // is librdkafka's choice: it mostly sends the three in one batch (all three refused), but a loaded CI run saw
    // it send the valid ones in batches of their own, which are then written: either way, the log holds exactly
    // the records reported written, and never the broken one.
    expect(bad.results[1], why).toBe(invalid)
    const written = new Map<number, string>()
    for (const [i, result] of bad.results.entries()) {
      if (i === 1 || result === invalid) continue
      expect(result, why).toMatch(/^OK \d+$/)
      written.set(Number(result.slice(3)), bad.sent[i]!)
    }
    const after = await readDirect(topics.shipments, 3 + written.size)
    const expected = [...good.sent, ...[...written.entries()].sort(([a], [b]) => a - b).map(([, hex]) => hex)]
    expect(
      after.map((r) => r.value?.toString('hex')),
      why,
    ).toEqual(expected)
    const pyTopic = `${topics.orders}-py`
    await registerSchema(registryUrl, `${pyTopic}-value`, 'AVRO', ORDER_AVRO)
    const avro = await runConfluentPythonProducer(sc.bootstrap, registryUrl, pyTopic, 'avro', 2)
    expect(avro.results, avro.stderr).toEqual(['OK 0', 'OK 1'])
    expect((await readDirect(pyTopic, 2)).map((r) => r.value?.toString('hex'))).toEqual(avro.sent)
    // Three producer runs, each bounded (delivery reports within 30 s, the script within 120 s): this test's own
    // timeout leaves room for them to fail with what they saw rather than be cut off (a CI run once hit 120 s here).
  }, 400_000)

  it('kcat with raw bytes: a valid framed JSON batch is written as sent; a batch with one unframed record gets INVALID_RECORD', async () => {
    const id = String.fromCharCode(paymentsId)
    const lines = [`\u0000\u0000\u0000\u0000${id}{"amount":5}`, `\u0000\u0000\u0000\u0000${id}{"amount":6}`]
    const okTopic = uniqueTopicName('sv-payments-kcat')
    await createTopic(cluster.description, okTopic, { partitions: 1 })
    await registerSchema(registryUrl, `${okTopic}-value`, 'JSON', PAYMENT_JSON).then((newId) =>
      expect(newId).toBe(paymentsId),
    )
    await sc.sidecar.reload(
      validated(
        sidecarConfig([
          { topic: okTopic, name: 'kcat', value: { format: 'json-schema', registry: { subject: 'topic' } } },
        ]),
      ),
    )
    const good = await runKcat(['-b', sc.bootstrap, '-P', '-t', okTopic, '-p', '0', '-z', 'snappy'], {
      input: `${lines.join('\n')}\n`,
    })
    expect(good.code, good.stderr).toBe(0)
    const back = await readDirect(okTopic, 2)
    expect(back.map((r) => r.value?.toString('latin1'))).toEqual(lines)
    const bad = await runKcat(['-b', sc.bootstrap, '-P', '-t', okTopic, '-p', '0', '-z', 'gzip'], {
      input: `${lines[0]}\n{"amount":7}\n${lines[1]}\n`,
    })
    // librdkafka's text for INVALID_RECORD (87).
    expect(bad.stderr).toContain('Broker: Broker failed to validate record')
    expect(await readDirect(okTopic, 2)).toHaveLength(2)
  })

  it('hot reload: a new rule applies to new connections; a local schema file that changes applies at once', async () => {
    const kafka = new Kafka({ clientId: 'sv-reload', brokers: [sc.bootstrap], logLevel: logLevel.NOTHING })
    const send = async (topic: string, value: string) => {
      const producer = kafka.producer({ retry: { retries: 0 } })
      await producer.connect()
      try {
        await producer.send({ topic, messages: [{ value }] })
        return 'ok'
      } catch (err) {
        return (err as { type?: string }).type ?? String(err)
      } finally {
        await producer.disconnect()
      }
    }
    // The local file rule: bare JSON, amount >= 0.
    expect(await send(topics.local, '{"amount":-1}')).toBe('INVALID_RECORD')
    expect(await send(topics.local, '{"amount":1}')).toBe('ok')
    writeFileSync(join(schemaDir, 'local.json'), JSON.stringify({ type: 'object', required: ['sku'] }))
    await waitFor('the changed schema file to apply', async () => (await send(topics.local, '{"sku":"s"}')) === 'ok', {
      timeoutMs: 20_000,
    })
    expect(await send(topics.local, '{"amount":1}')).toBe('INVALID_RECORD')
    // A rule added by a reload applies to the producers that connect after it.
    const fresh = uniqueTopicName('sv-fresh')
    await createTopic(cluster.description, fresh, { partitions: 1 })
    expect(await send(fresh, 'anything')).toBe('ok')
    await sc.sidecar.reload(validated(sidecarConfig([{ topic: fresh, name: 'fresh', requiredHeaders: ['x'] }])))
    expect(await send(fresh, 'anything')).toBe('INVALID_RECORD')
  })

  function registryV3(): string {
    return `${registryDescription!.httpUrl}/apis/registry/v3`
  }

  /** The test sidecar's configuration with other filters, as startTestSidecar built it, for a hot reload. */
  function validated(raw: Record<string, unknown>) {
    const result = validateConfig(
      {
        listen: { host: '127.0.0.1', port: sc.config.listen.port },
        brokers: { host: '127.0.0.1', advertisedHost: '127.0.0.1', portBase: sc.config.brokers.portBase },
        upstream: { bootstrap: cluster.bootstrapServers.split(',') },
        admin: { enabled: false },
        ...raw,
      },
      { requireUpstream: true },
    )
    if (!result.config) throw new Error(JSON.stringify(result.issues))
    return result.config
  }
})

describe('schema-validation with the registry down (a private Apicurio Registry, stopped and restarted)', () => {
  const cluster = getCluster('single')
  let registry: SchemaRegistryProcess
  let sc: TestSidecar
  const closed = uniqueTopicName('sv-closed')
  const open = uniqueTopicName('sv-open')

  beforeAll(async () => {
    registry = await SchemaRegistryProcess.create()
    await registry.start()
    await Promise.all([
      createTopic(cluster.description, closed, { partitions: 1 }),
      createTopic(cluster.description, open, { partitions: 1 }),
    ])
    sc = await startTestSidecar(
      cluster.description.bootstrapServers,
      {
        filters: [
          {
            name: 'schema-validation',
            config: {
              registry: { url: registry.describe().url, timeoutMs: 2000, retryBackoffMs: 100 },
              rules: [
                { topic: closed, value: { registry: { subject: 'any' } }, onRegistryDown: 'fail-closed' },
                { topic: open, value: { registry: { subject: 'any' } }, onRegistryDown: 'fail-open' },
              ],
            },
          },
        ],
      },
      { plugins: FILTER_PLUGINS },
    )
  })
  afterAll(async () => {
    await sc?.stop()
    await registry?.close()
  })

  it('fail-closed answers a retriable error and fail-open passes while it is down; both check again once it is back', async () => {
    const id = await registerSchema(registry.describe().url, 'payments-value', 'JSON', PAYMENT_JSON)
    await registry.stop()
    const framed = (json: string) => {
      const head = Buffer.alloc(5)
      head.writeInt32BE(id, 1)
      return Buffer.concat([head, Buffer.from(json)])
    }
    const kafka = new Kafka({ clientId: 'sv-down', brokers: [sc.bootstrap], logLevel: logLevel.NOTHING })
    const producer = kafka.producer({ retry: { retries: 0 } })
    await producer.connect()
    try {
      // REQUEST_TIMED_OUT is retriable: kafkajs retries it (here no retries are allowed) and gives up with it as the cause.
      await expect(
        producer.send({ topic: closed, messages: [{ value: framed('{"amount":1}') }] }),
      ).rejects.toMatchObject({
        name: 'KafkaJSNumberOfRetriesExceeded',
        cause: { code: 7, retriable: true },
      })
      // Fail-open: even an invalid record passes unchecked while the registry is away.
      await producer.send({ topic: open, messages: [{ value: framed('{"amount":-1}') }] })
      const warned = sc.logs.find((l) => String(l.msg).includes('records pass unchecked'))
      expect(warned).toBeDefined()
      await registry.start()
      expect(await registerSchema(registry.describe().url, 'payments-value', 'JSON', PAYMENT_JSON)).toBe(id)
      await waitFor(
        'fail-closed to pass again',
        () =>
          producer.send({ topic: closed, messages: [{ value: framed('{"amount":1}') }] }).then(
            () => true,
            () => false,
          ),
        { timeoutMs: 20_000, intervalMs: 300 },
      )
      await expect(
        producer.send({ topic: open, messages: [{ value: framed('{"amount":-1}') }] }),
      ).rejects.toMatchObject({
        type: 'INVALID_RECORD',
      })
    } finally {
      await producer.disconnect()
    }
  })
})
