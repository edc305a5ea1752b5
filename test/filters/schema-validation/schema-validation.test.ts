import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import avsc from 'avsc'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { CompressionType, encodeRecordBatch, type RecordInput } from '../../../codec/records/index.js'
import { schemaValidationPlugin } from '../../../filters/schema-validation/index.js'
import type { SchemaValidation } from '../../../filters/schema-validation/schema-validation.js'
import { ApiKey, ErrorCode, type RequestVerdict } from '../../../src/pipeline/filter-api.js'
import { type FakeContext, fakeContext, request, setupContext } from '../../support/filter-testing.js'
import { FakeRegistry } from './fake-registry.js'

const ORDER = {
  type: 'record',
  name: 'Order',
  namespace: 'shop',
  fields: [
    { name: 'id', type: 'string' },
    { name: 'amount', type: 'int' },
  ],
}
const orderType = avsc.Type.forSchema(ORDER as avsc.Schema)
const ORDERS_ID = 'b3JkZXJzLXRvcGljLWlkAA'
const JSON_ORDER = { type: 'object', properties: { amount: { type: 'number', minimum: 0 } }, required: ['amount'] }

function confluent(id: number, payload: Buffer): Buffer {
  const head = Buffer.alloc(5)
  head.writeInt32BE(id, 1)
  return Buffer.concat([head, payload])
}
const avroOrder = (id: string, amount: number, schemaId = 1) => confluent(schemaId, orderType.toBuffer({ id, amount }))

function produce(
  partitions: { topic: string; partition: number; records: RecordInput[]; compression?: CompressionType }[],
  options: { version?: number; acks?: number; topicIds?: Map<string, string> } = {},
) {
  const version = options.version ?? 9
  const byTopic = new Map<string, { index: number; records: Buffer }[]>()
  for (const p of partitions) {
    const list = byTopic.get(p.topic) ?? []
    list.push({ index: p.partition, records: encodeRecordBatch(p.records, { compression: p.compression }) })
    byTopic.set(p.topic, list)
  }
  return request(ApiKey.Produce, version, {
    acks: options.acks ?? -1,
    timeoutMs: 30_000,
    topicData: [...byTopic].map(([topic, partitionData]) =>
      version >= 13 ? { topicId: options.topicIds!.get(topic)!, partitionData } : { name: topic, partitionData },
    ),
  })
}

describe('schema-validation filter', () => {
  let registry: FakeRegistry
  let dir: string
  const filters: SchemaValidation[] = []

  beforeEach(async () => {
    registry = await new FakeRegistry().start()
    registry.add(1, { schema: JSON.stringify(ORDER), subject: 'orders-value', version: 3 })
    registry.add(2, { schema: JSON.stringify(JSON_ORDER), schemaType: 'JSON', subject: 'payments-value', version: 1 })
    dir = mkdtempSync(join(tmpdir(), 'ksc-sv-'))
  })
  afterEach(async () => {
    for (const f of filters.splice(0)) await f.close()
    await registry.stop()
  })

  async function build(config: Record<string, unknown>, clientId = 'app-1') {
    const plugin = schemaValidationPlugin
    const setup = setupContext({ configDir: dir })
    const configured = (await plugin.configure(plugin.parseConfig(config), setup)) as SchemaValidation
    filters.push(configured)
    const ctx = fakeContext({ clientId, topics: new Map([[ORDERS_ID, 'orders']]) })
    const filter = configured.forConnection()
    return {
      configured,
      setup,
      ctx,
      run: async (req: ReturnType<typeof produce>, c: FakeContext = ctx) =>
        (await filter.onRequest!(req, c)) as RequestVerdict | undefined,
    }
  }

  const registryRules = (extra: Record<string, unknown> = {}) => ({
    registry: { url: registry.url, timeoutMs: 500, retryBackoffMs: 0 },
    rules: [
      { topic: 'orders', value: { format: 'avro', registry: { subject: 'topic' } }, ...extra },
      { topicPrefix: 'pay', name: 'payments', value: { registry: {} } },
    ],
  })

  it('forwards untouched (no verdict) when every record passes; topics without a rule are not looked at', async () => {
    const { run, setup } = await build(registryRules())
    const req = produce([
      { topic: 'orders', partition: 0, records: [{ value: avroOrder('a', 1) }, { value: avroOrder('b', 2) }] },
      { topic: 'other', partition: 0, records: [{ value: Buffer.from('not checked') }] },
    ])
    expect(await run(req)).toBeUndefined()
    expect(setup.metrics.values.get('records_checked_total{client_id="app-1",rule="orders",topic="orders"}')).toBe(2)
    expect(setup.metrics.values.get('records_passed_total{client_id="app-1",rule="orders",topic="orders"}')).toBe(2)
  })

  it('an invalid record in the middle of a compressed batch rejects that partition only, naming the record and the rule', async () => {
    const { run, setup } = await build(registryRules())
    const bad = Buffer.from(JSON.stringify({ amount: -5 }))
    const req = produce([
      {
        topic: 'payments',
        partition: 1,
        compression: CompressionType.Zstd,
        records: [
          { value: confluent(2, Buffer.from('{"amount":1}')) },
          { value: confluent(2, bad) },
          { value: confluent(2, Buffer.from('{"amount":2}')) },
        ],
      },
      {
        topic: 'payments',
        partition: 0,
        compression: CompressionType.Gzip,
        records: [{ value: confluent(2, Buffer.from('{"amount":3}')) }],
      },
    ])
    const verdict = await run(req)
    expect(verdict).toEqual({
      kind: 'reject-partitions',
      rejections: [
        {
          topic: 'payments',
          partition: 1,
          errorCode: ErrorCode.INVALID_RECORD,
          message:
            'schema validation failed for 1 of 3 record(s); first: record 1: value: /amount must be >= 0 (schema payments-value v1) (rule payments)',
          recordErrors: [
            {
              batchIndex: 1,
              message: 'record 1: value: /amount must be >= 0 (schema payments-value v1) (rule payments)',
            },
          ],
        },
      ],
    })
    expect(
      setup.metrics.values.get(
        'records_rejected_total{client_id="app-1",reason="schema",rule="payments",topic="payments"}',
      ),
    ).toBe(1)
    expect(
      setup.metrics.values.get(
        'records_rejected_total{client_id="app-1",reason="batch_with_invalid_record",rule="payments",topic="payments"}',
      ),
    ).toBe(2)
    expect(setup.metrics.values.get('records_passed_total{client_id="app-1",rule="payments",topic="payments"}')).toBe(1)
  })

  it('each reason: unknown schema id, missing magic byte, wrong subject, missing required header, wrong format', async () => {
    registry.add(7, { schema: JSON.stringify(ORDER), subject: 'refunds-value', version: 1 })
    const { run } = await build(registryRules({ requiredHeaders: ['trace-id'] }))
    const trace = [{ key: 'trace-id', value: Buffer.from('t') }]
    const cases: [RecordInput, string][] = [
      [{ value: avroOrder('a', 1, 99), headers: trace }, 'value: schema id 99 is not in the registry'],
      [
        { value: orderType.toBuffer({ id: 'a', amount: 1 }), headers: trace },
        'value has no magic byte: starts with 0x02 where a schema registry serializer writes 0x00 and a 4-byte schema id',
      ],
      [
        { value: avroOrder('a', 1, 7), headers: trace },
        'value: schema id 7 is not registered under subject orders-value (TopicNameStrategy); it is under refunds-value v1',
      ],
      [{ value: avroOrder('a', 1) }, 'header trace-id is missing'],
      [
        { value: confluent(2, Buffer.from('{"amount":1}')), headers: trace },
        'value: schema id 2 is JSON, where the rule expects avro',
      ],
    ]
    for (const [record, reason] of cases) {
      const verdict = (await run(produce([{ topic: 'orders', partition: 0, records: [record] }]))) as unknown as {
        rejections: { errorCode: number; recordErrors: { message: string }[] }[]
      }
      expect(verdict.rejections[0]!.errorCode).toBe(ErrorCode.INVALID_RECORD)
      expect(verdict.rejections[0]!.recordErrors[0]!.message).toBe(`record 0: ${reason} (rule orders)`)
    }
  })

  it('Produce v13: topics by id are named for the rules, and answered by id', async () => {
    const { run } = await build(registryRules())
    const req = produce([{ topic: 'orders', partition: 2, records: [{ value: Buffer.from('x') }] }], {
      version: 13,
      topicIds: new Map([['orders', ORDERS_ID]]),
    })
    const verdict = (await run(req)) as unknown as { rejections: { topic: string; partition: number }[] }
    expect(verdict.rejections).toMatchObject([{ topic: ORDERS_ID, partition: 2 }])
  })

  it('registry down: fail-closed answers REQUEST_TIMED_OUT (retriable), fail-open passes and counts; both recover', async () => {
    const { run, setup, configured } = await build({
      registry: { url: registry.url, timeoutMs: 500, retryBackoffMs: 0 },
      rules: [
        { topic: 'orders', value: { registry: {} }, onRegistryDown: 'fail-closed' },
        { topic: 'payments', value: { registry: {} }, onRegistryDown: 'fail-open' },
      ],
    })
    registry.mode = 'error'
    const req = produce([
      { topic: 'orders', partition: 0, records: [{ value: avroOrder('a', 1) }] },
      { topic: 'payments', partition: 0, records: [{ value: confluent(2, Buffer.from('{"amount":-1}')) }] },
    ])
    const down = (await run(req)) as unknown as { rejections: { topic: string; errorCode: number; message: string }[] }
    expect(down.rejections).toHaveLength(1)
    expect(down.rejections[0]).toMatchObject({ topic: 'orders', errorCode: ErrorCode.REQUEST_TIMED_OUT })
    expect(down.rejections[0]!.message).toMatch(
      /the schema registry is unreachable and rule orders fails closed \(.*HTTP 500/,
    )
    expect(
      setup.metrics.values.get('records_unchecked_total{client_id="app-1",rule="payments",topic="payments"}'),
    ).toBe(1)
    expect(configured.health()).toMatchObject({
      ready: false,
      detail: expect.stringMatching(/^schema registry unreachable since .*HTTP 500/),
    })
    registry.mode = 'ok'
    const up = (await run(req)) as unknown as { rejections: { topic: string; errorCode: number }[] }
    // Back: orders passes, and the payments record is now checked (and is invalid).
    expect(up.rejections).toMatchObject([{ topic: 'payments', errorCode: ErrorCode.INVALID_RECORD }])
    expect(configured.health().ready).toBe(true)
  })

  it('health: ready while the registry is down when every rule fails open, and the detail says so', async () => {
    const { run, configured } = await build({
      registry: { url: registry.url, timeoutMs: 500, retryBackoffMs: 0 },
      rules: [{ topic: 'orders', value: { registry: {} }, onRegistryDown: 'fail-open' }],
    })
    expect(configured.health()).toEqual({ ready: true, detail: 'schema registry reachable' })
    registry.mode = 'error'
    expect(
      await run(produce([{ topic: 'orders', partition: 0, records: [{ value: avroOrder('a', 1) }] }])),
    ).toBeUndefined()
    expect(configured.health()).toMatchObject({
      ready: true,
      detail: expect.stringMatching(
        /^schema registry unreachable since .*\(every rule fails open: records pass unchecked\)$/,
      ),
    })
  })

  it('looks each schema up once: a second request is judged without waiting', async () => {
    const { run } = await build(registryRules())
    await run(produce([{ topic: 'orders', partition: 0, records: [{ value: avroOrder('a', 1) }] }]))
    const n = registry.requests.length
    const filter = filters[0]!.forConnection()
    const sync = filter.onRequest!(
      produce([{ topic: 'orders', partition: 0, records: [{ value: avroOrder('b', 2) }] }]),
      fakeContext(),
    )
    expect(sync).toBeUndefined()
    expect(registry.requests.length).toBe(n)
  })

  it('acks=0: the failing partition is dropped and counted', async () => {
    const { run, setup } = await build(registryRules())
    const verdict = await run(
      produce([{ topic: 'orders', partition: 0, records: [{ value: Buffer.from('x') }] }], { acks: 0 }),
    )
    expect(verdict?.kind).toBe('reject-partitions')
    expect(setup.metrics.values.get('partitions_dropped_total{client_id="app-1",rule="orders",topic="orders"}')).toBe(1)
  })

  it('a null value passes unless allowNull is false; a corrupt batch is CORRUPT_MESSAGE', async () => {
    writeFileSync(join(dir, 'order.json'), JSON.stringify(JSON_ORDER))
    const { run } = await build({
      rules: [
        { topic: 'orders', value: { format: 'json-schema', file: 'order.json' } },
        { topic: 'strict', value: { format: 'json-schema', file: 'order.json', allowNull: false } },
      ],
    })
    expect(await run(produce([{ topic: 'orders', partition: 0, records: [{ value: null }] }]))).toBeUndefined()
    const strict = (await run(produce([{ topic: 'strict', partition: 0, records: [{ value: null }] }]))) as unknown as {
      rejections: { recordErrors: { message: string }[] }[]
    }
    expect(strict.rejections[0]!.recordErrors[0]!.message).toBe('record 0: value is null (rule strict)')
    const req = produce([{ topic: 'orders', partition: 0, records: [{ value: Buffer.from('{"amount":1}') }] }])
    const records = req.body.topicData[0]!.partitionData[0]!.records as Buffer
    records.writeInt32BE(1_000_000, 57) // the record count, past what the bytes hold
    const corrupt = (await run(req)) as unknown as { rejections: { errorCode: number; message: string }[] }
    expect(corrupt.rejections[0]).toMatchObject({ errorCode: ErrorCode.CORRUPT_MESSAGE })
    expect(corrupt.rejections[0]!.message).toMatch(
      /the records cannot be read: record batch declares 1000000 record\(s\)/,
    )
  })

  it('a local schema file is watched: a change applies to open connections; a broken change keeps the last good one', async () => {
    writeFileSync(join(dir, 'order.json'), JSON.stringify(JSON_ORDER))
    const { run, configured } = await build({
      rules: [{ topic: 'orders', value: { format: 'json-schema', file: 'order.json' } }],
    })
    const req = () => produce([{ topic: 'orders', partition: 0, records: [{ value: Buffer.from('{"amount":-1}') }] }])
    expect((await run(req()))?.kind).toBe('reject-partitions')
    writeFileSync(join(dir, 'order.json'), JSON.stringify({ type: 'object' }))
    await waitUntil(async () => (await run(req())) === undefined)
    writeFileSync(join(dir, 'order.json'), '{ not json')
    ;(configured as unknown as { local: { reloadAll(): void } }).local.reloadAll()
    expect(await run(req())).toBeUndefined()
  })

  it('a missing schema file fails the configuration, naming the file', async () => {
    await expect(build({ rules: [{ topic: 'o', value: { format: 'avro', file: 'nope.avsc' } }] })).rejects.toThrow(
      /schema file nope.avsc \(.*nope.avsc\) cannot be read/,
    )
  })

  it('hot reload with the same registry keeps its cache; a new rule applies to new connections', async () => {
    const { configured, setup } = await build(registryRules())
    await configured.forConnection().onRequest!(
      produce([{ topic: 'orders', partition: 0, records: [{ value: avroOrder('a', 1) }] }]),
      fakeContext(),
    )
    const n = registry.requests.length
    const next = (await schemaValidationPlugin.configure(
      schemaValidationPlugin.parseConfig({
        ...registryRules(),
        rules: [{ topic: 'orders', value: { registry: {} }, requiredHeaders: ['h'] }],
      }),
      setup,
      configured,
    )) as SchemaValidation
    filters.push(next)
    const verdict = (await next.forConnection().onRequest!(
      produce([{ topic: 'orders', partition: 0, records: [{ value: avroOrder('a', 1) }] }]),
      fakeContext(),
    )) as unknown as { rejections: { recordErrors: { message: string }[] }[] }
    expect(verdict.rejections[0]!.recordErrors[0]!.message).toBe('record 0: header h is missing (rule orders)')
    expect(registry.requests.length).toBe(n)
  })
})

async function waitUntil(check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > end) throw new Error('condition not met in time')
    await new Promise((r) => setTimeout(r, 50))
  }
}

describe('schema-validation filter, Protobuf as Confluent serializers write it', () => {
  it('reads the message indexes and checks the payload against the registered descriptor', async () => {
    const registry = await new FakeRegistry().start()
    try {
      registry.add(1, {
        schema:
          'Cg9zaGlwbWVudHMucHJvdG8SBHNob3AiJgoIU2hpcG1lbnQSCgoCaWQYASABKAkSDgoGd2VpZ2h0GAIgASgFIicKBlJldHVybhIOCgZyZWFzb24YASABKAkSDQoFaXRlbXMYAiABKAViBnByb3RvMw==',
        schemaType: 'PROTOBUF',
        subject: 'shipments-value',
      })
      const setup = setupContext()
      const configured = (await schemaValidationPlugin.configure(
        schemaValidationPlugin.parseConfig({
          registry: { url: registry.url },
          rules: [{ topic: 'shipments', value: { format: 'protobuf', registry: { subject: 'topic' } } }],
        }),
        setup,
      )) as SchemaValidation
      const filter = configured.forConnection()
      // As confluent-kafka-python's ProtobufSerializer framed shop.Return (indexes [1]: 02 02).
      const good = Buffer.from('00000000010202' + '0a08726561736f6e2d311002', 'hex')
      const cut = good.subarray(0, good.length - 3)
      const req = (value: Buffer) =>
        produce([
          {
            topic: 'shipments',
            partition: 0,
            compression: CompressionType.Gzip,
            records: [{ value: good }, { value }],
          },
        ])
      expect(await filter.onRequest!(req(good), fakeContext())).toBeUndefined()
      const verdict = (await filter.onRequest!(req(cut), fakeContext())) as unknown as {
        rejections: { recordErrors: { message: string }[] }[]
      }
      expect(verdict.rejections[0]!.recordErrors[0]!.message).toBe(
        'record 1: value: not a valid Protobuf shop.Return: index out of range: 2 + 8 > 9 (schema shipments-value v1) (rule shipments)',
      )
      await configured.close()
    } finally {
      await registry.stop()
    }
  })
})
