import { Readable } from 'node:stream'
import pino from 'pino'
import { describe, expect, it } from 'vitest'
import { decodeRequest, encodeRequest } from '../../../codec/messages/frames.js'
import { defaultRequest } from '../../../codec/messages/message-defaults.js'
import { encodeRecordBatch, readBatches } from '../../../codec/records/index.js'
import { isLoopback, TAP_ROUTE } from '../../../filters/tap/admin.js'
import { TAP_HEADERS } from '../../../filters/tap/decorate.js'
import { type TapFilter, tapPlugin } from '../../../filters/tap/index.js'
import {
  type AdminRouteHandler,
  ApiKey,
  type ConfiguredFilter,
  type DecodedRequest,
  type Filter,
  type OwnRecord,
  partitionForKey,
  type UpstreamClientService,
} from '../../../src/pipeline/filter-api.js'
import { FakeClock, FakeMetrics, fakeContext, response, setupContext } from '../../support/filter-testing.js'

/** The sidecar's own client as the tap sees it: records every produce, can be held back (gate) or made to fail. */
class RecordingUpstream implements UpstreamClientService {
  readonly produced: { topic: string; records: readonly OwnRecord[]; options: unknown }[] = []
  failWith: Error | undefined
  private gate: Promise<void> | undefined
  private open: (() => void) | undefined

  hold(): void {
    this.gate = new Promise((resolve) => {
      this.open = resolve
    })
  }

  release(): void {
    this.open?.()
    this.gate = undefined
  }

  /** Topics produced to: their partitions are known from then on (partitionCount). */
  private readonly known = new Set<string>()

  async produce(topic: string, records: readonly OwnRecord[], options?: unknown) {
    this.known.add(topic)
    if (this.gate !== undefined) await this.gate
    if (this.failWith !== undefined) throw this.failWith
    // A producer has encoded the records (copied their bytes) by the time it resolves; so does this one.
    const copy = (v: Uint8Array | string | null | undefined): Uint8Array | string | null =>
      v == null ? null : typeof v === 'string' ? v : Buffer.from(v)
    const copied = records.map(
      (r): OwnRecord => ({
        ...r,
        key: copy(r.key),
        value: copy(r.value),
        headers: (r.headers ?? []).map((h) => ({ key: h.key, value: copy(h.value) })),
      }),
    )
    this.produced.push({ topic, records: copied, options })
    return records.map(() => ({ partition: 0, offset: 0n }))
  }

  /** Tap batches the tap built itself (produceRecordBatch), with the partition asked for. */
  readonly batches: { topic: string; partition: number | undefined; count: number }[] = []

  /** Tap batches decode into the records they carry, so that every test sees both ways the tap produces alike. */
  async produceRecordBatch(topic: string, partition: number | undefined, batch: Buffer, options?: unknown) {
    if (this.gate !== undefined) await this.gate
    if (this.failWith !== undefined) throw this.failWith
    const records: OwnRecord[] = []
    for (const entry of readBatches(Buffer.from(batch))) {
      if (entry.kind !== 'batch') throw new Error(`a tap batch that is not a batch: ${entry.kind}`)
      entry.ensureValidCrc()
      for (const r of entry.records())
        records.push({ key: r.key, value: r.value, headers: r.headers, timestamp: r.timestamp })
    }
    this.produced.push({ topic, records, options })
    this.batches.push({ topic, partition, count: records.length })
    return { partition: partition ?? 0, baseOffset: 0n }
  }

  /** Known once something was produced to the topic (its metadata asked for), as in the sidecar's own client. */
  partitionCount(topic: string): number | undefined {
    return this.known.has(topic) ? 4 : undefined
  }

  readonly created: unknown[] = []

  async send(_target: unknown, apiKey: number, apiVersion: unknown, body: unknown): Promise<never> {
    if (apiKey !== ApiKey.CreateTopics) throw new Error(`unexpected api key ${apiKey}`)
    this.created.push(body)
    const name = (body as { topics: { name: string }[] }).topics[0]!.name
    return {
      apiKey,
      apiVersion,
      body: { throttleTimeMs: 0, topics: [{ name, errorCode: 0, errorMessage: null }] },
    } as never
  }

  health() {
    return { connected: this.failWith === undefined }
  }

  get records(): OwnRecord[] {
    return this.produced.flatMap((p) => p.records)
  }
}

const text = (v: Uint8Array | string | null | undefined) => (v == null ? null : Buffer.from(v as Uint8Array).toString())
const header = (r: OwnRecord, key: string) => text([...(r.headers ?? [])].reverse().find((h) => h.key === key)?.value)

interface Harness {
  filter: Filter
  configured: ConfiguredFilter
  upstream: RecordingUpstream
  metrics: FakeMetrics
  clock: FakeClock
  route: AdminRouteHandler | undefined
  logs: Record<string, unknown>[]
  idle(): Promise<void>
}

async function tapFilter(config: Record<string, unknown>, clientId = 'orders-svc'): Promise<Harness> {
  const upstream = new RecordingUpstream()
  const clock = new FakeClock()
  const metrics = new FakeMetrics()
  const logs: Record<string, unknown>[] = []
  const log = pino({ level: 'debug' }, { write: (line: string) => void logs.push(JSON.parse(line)) })
  let route: AdminRouteHandler | undefined
  const setup = {
    ...setupContext({ upstream, clock, metrics, log }),
    admin: {
      route: (_path: string, handler: AdminRouteHandler) => {
        route = handler
      },
    },
  }
  const configured = await tapPlugin.configure(tapPlugin.parseConfig({ instance: 'pod-a', ...config }), setup)
  const ctx = fakeContext({ clientId, clock })
  const filter = configured.forConnection(ctx)
  const engine = (configured as TapFilter).engine
  return { filter, configured, upstream, metrics, clock, route, logs, idle: () => engine.whenIdle() }
}

const CTX = fakeContext({ clientId: 'orders-svc' })

/** A Produce request decoded from `into` (a stand-in for a socket read buffer): its records are views of it. */
function produceInto(
  into: Buffer,
  topic: string,
  values: string[],
  options: { acks?: number; partition?: number; version?: number; topicId?: string } = {},
): DecodedRequest {
  const version = options.version ?? 9
  const records = encodeRecordBatch(values.map((v) => ({ key: null, value: Buffer.from(v), timestamp: 1000n })))
  const topicData =
    version >= 13
      ? [{ topicId: options.topicId!, partitionData: [{ index: options.partition ?? 0, records }] }]
      : [{ name: topic, partitionData: [{ index: options.partition ?? 0, records }] }]
  const body = defaultRequest(ApiKey.Produce, version, { acks: options.acks ?? -1, topicData })
  const frame = encodeRequest(
    { requestApiKey: 0, requestApiVersion: version, correlationId: 1, clientId: 'orders-svc' },
    body,
  )
  if (frame.length > into.length) throw new Error('test buffer too small')
  frame.copy(into)
  const d = decodeRequest(into, 4, frame.length)
  return { apiKey: ApiKey.Produce, apiVersion: version, header: d.header, size: frame.length, body: d.body as never }
}

function produceAnswer(req: DecodedRequest, topic: string, baseOffset: bigint, errorCode = 0, partition = 0) {
  return response(
    ApiKey.Produce,
    req.apiVersion,
    { responses: [{ name: topic, partitionResponses: [{ index: partition, errorCode, baseOffset }] }] },
    req as DecodedRequest<0>,
  )
}

describe('tap filter', () => {
  it('is an observer that reads records (no summaries), and wants Produce and Fetch only', async () => {
    const { filter } = await tapFilter({ taps: [{ name: 't', topic: 'tap-out' }] })
    expect(filter.observesOnly).toBe(true)
    expect(filter.records ?? 'bytes').toBe('bytes')
    expect(filter.wantsRequest!(ApiKey.Produce, 9)).toBe(true)
    expect(filter.wantsRequest!(ApiKey.Fetch, 12)).toBe(true) // control is on: a fetch tap may start at run time
    expect(filter.wantsRequest!(ApiKey.Metadata, 12)).toBe(false)
    const quiet = await tapFilter({ control: { enabled: false }, taps: [{ name: 't', topic: 'tap-out' }] })
    expect(quiet.filter.wantsResponse!(ApiKey.Fetch, 12)).toBe(false)
    expect(quiet.filter.wantsResponse!(ApiKey.Produce, 9)).toBe(true)
  })

  it('copies produced records with the offsets of the Produce response into the tap topic', async () => {
    const h = await tapFilter({ taps: [{ name: 't', topic: 'tap-out', acks: -1, compression: 'lz4' }] })
    const req = produceInto(Buffer.alloc(4096), 'orders', ['a', 'b'])
    h.filter.onRequest!(req, CTX)
    expect(h.filter.needsResponse!(ApiKey.Produce, 9, undefined as never)).toBe(true)
    h.filter.onResponse!(produceAnswer(req, 'orders', 41n), CTX)
    await h.idle()
    expect(h.upstream.produced.map((p) => [p.topic, p.options])).toEqual([
      ['tap-out', { acks: -1, compression: 'lz4' }],
    ])
    const [a, b] = h.upstream.records
    expect([text(a!.value), header(a!, TAP_HEADERS.offset), text(b!.value), header(b!, TAP_HEADERS.offset)]).toEqual([
      'a',
      '41',
      'b',
      '42',
    ])
    expect(header(a!, TAP_HEADERS.clientId)).toBe('orders-svc')
    expect(h.metrics.values.get('records_total{outcome="tapped",tap="t"}')).toBe(2)
    expect(h.filter.needsResponse!(ApiKey.Produce, 9, undefined as never)).toBe(false)
  })

  it("copies later records from their encoded bytes into tap batches of its own, keyed ones to their key's partition", async () => {
    const h = await tapFilter({ taps: [{ name: 't', topic: 'tap-out' }] })
    const send = (values: string[], baseOffset: bigint) => {
      const req = produceInto(Buffer.alloc(4096), 'orders', values)
      h.filter.onRequest!(req, CTX)
      h.filter.onResponse!(produceAnswer(req, 'orders', baseOffset), CTX)
    }
    send(['first'], 0n) // the tap topic's partitions are not known yet: decoded and produced as records
    await h.idle()
    expect(h.upstream.batches).toEqual([])
    send(['second', 'third'], 1n)
    const keyed = produceInto(Buffer.alloc(4096), 'orders', [])
    const records = encodeRecordBatch([{ key: Buffer.from('order-7'), value: Buffer.from('fourth'), timestamp: 1000n }])
    ;(keyed.body as { topicData: { partitionData: { records: Buffer }[] }[] }).topicData[0]!.partitionData[0]!.records =
      records
    h.filter.onRequest!(keyed, CTX)
    h.filter.onResponse!(produceAnswer(keyed, 'orders', 3n), CTX)
    await h.idle()
    expect(h.upstream.batches).toEqual([
      { topic: 'tap-out', partition: undefined, count: 2 },
      { topic: 'tap-out', partition: partitionForKey(Buffer.from('order-7'), 4), count: 1 },
    ])
    expect(h.upstream.records.map((r) => [text(r.value), header(r, TAP_HEADERS.offset), r.timestamp])).toEqual([
      ['first', '0', 1000n],
      ['second', '1', 1000n],
      ['third', '2', 1000n],
      ['fourth', '3', 1000n],
    ])
    expect(h.metrics.values.get('records_total{outcome="tapped",tap="t"}')).toBe(4)
  })

  it('keeps its copies: records survive many further requests read into the same buffer before they are produced', async () => {
    const h = await tapFilter({ taps: [{ name: 't', topic: 'tap-out' }] })
    h.upstream.hold() // the tap cluster is slow: nothing is produced until every request has passed
    const socketBuffer = Buffer.alloc(4096)
    for (let i = 0; i < 200; i++) {
      const req = produceInto(socketBuffer, 'orders', [`value-${i}-x`, `value-${i}-y`])
      h.filter.onRequest!(req, CTX)
      socketBuffer.fill(0xee) // the runtime reuses its read buffer once the call is over
      h.filter.onResponse!(produceAnswer(req, 'orders', BigInt(2 * i)), CTX)
    }
    h.upstream.release()
    await h.idle()
    const records = h.upstream.records
    expect(records).toHaveLength(400)
    expect(records.map((r) => text(r.value))).toEqual(
      Array.from({ length: 200 }, (_, i) => [`value-${i}-x`, `value-${i}-y`]).flat(),
    )
    expect(records.map((r) => header(r, TAP_HEADERS.offset))).toEqual(Array.from({ length: 400 }, (_, i) => String(i)))
  })

  it('createTopic: the destination topic is created (cluster defaults) before the first records, once', async () => {
    const h = await tapFilter({ taps: [{ name: 't', topic: 'tap-new', createTopic: true }] })
    for (const v of ['one', 'two']) {
      const req = produceInto(Buffer.alloc(4096), 'orders', [v])
      h.filter.onRequest!(req, CTX)
      h.filter.onResponse!(produceAnswer(req, 'orders', 0n), CTX)
      await h.idle()
    }
    expect(h.upstream.created).toEqual([
      {
        topics: [expect.objectContaining({ name: 'tap-new', numPartitions: -1, replicationFactor: -1 })],
        timeoutMs: 30_000,
        validateOnly: false,
      },
    ])
    expect(h.upstream.records.map((r) => text(r.value))).toEqual(['one', 'two'])
  })

  it('acks=0: copied at once, without offsets', async () => {
    const h = await tapFilter({ taps: [{ name: 't', topic: 'tap-out' }] })
    h.filter.onRequest!(produceInto(Buffer.alloc(4096), 'orders', ['z'], { acks: 0 }), CTX)
    await h.idle()
    expect(h.upstream.records.map((r) => [text(r.value), header(r, TAP_HEADERS.offset)])).toEqual([['z', null]])
  })

  it('leaves alone what no tap selects: other clients, other topics, the tap topic itself', async () => {
    const h = await tapFilter({
      taps: [{ name: 't', topic: 'tap-out', match: { clientId: 'orders-svc', topicPrefixes: ['orders', 'tap'] } }],
    })
    const other = fakeContext({ clientId: 'billing' })
    const buf = Buffer.alloc(4096)
    for (const [ctx, topic] of [
      [other, 'orders'],
      [CTX, 'payments'],
      [CTX, 'tap-out'],
    ] as const) {
      const req = produceInto(buf, topic, ['x'])
      h.filter.onRequest!(req, ctx)
      h.filter.onResponse!(produceAnswer(req, topic, 0n), ctx)
    }
    await h.idle()
    expect(h.upstream.produced).toEqual([])
  })

  it('Produce v13 names topics by id: the name comes from the connection (topicNames)', async () => {
    const h = await tapFilter({ taps: [{ name: 't', topic: 'tap-out', match: { topics: ['orders'] } }] })
    const ctx = fakeContext({ clientId: 'orders-svc', topics: new Map([['AAAAAAAAAAAAAAAAAAAAAQ', 'orders']]) })
    const req = produceInto(Buffer.alloc(4096), '', ['by-id'], { version: 13, topicId: 'AAAAAAAAAAAAAAAAAAAAAQ' })
    h.filter.onRequest!(req, ctx)
    h.filter.onResponse!(
      response(
        ApiKey.Produce,
        13,
        { responses: [{ topicId: 'AAAAAAAAAAAAAAAAAAAAAQ', partitionResponses: [{ index: 0, baseOffset: 7n }] }] },
        req as DecodedRequest<0>,
      ),
      ctx,
    )
    await h.idle()
    const [r] = h.upstream.records
    expect([text(r!.value), header(r!, TAP_HEADERS.topic), header(r!, TAP_HEADERS.offset)]).toEqual([
      'by-id',
      'orders',
      '7',
    ])
  })

  it('fetched records with their offsets, from the offset the consumer asked for', async () => {
    const h = await tapFilter({ taps: [{ name: 'f', topic: 'tap-out', match: { direction: 'fetch' } }] }, 'reader')
    const ctx = fakeContext({ clientId: 'reader' })
    expect(h.filter.needsResponse!(ApiKey.Fetch, 12, undefined as never)).toBe(true)
    const records = encodeRecordBatch(
      ['r0', 'r1', 'r2'].map((v) => ({ value: Buffer.from(v) })),
      { baseOffset: 20n },
    )
    const fetchReq = {
      apiKey: ApiKey.Fetch,
      apiVersion: 12,
      header: {} as never,
      size: 0,
      body: defaultRequest(ApiKey.Fetch, 12, {
        topics: [{ topic: 'orders', partitions: [{ partition: 1, fetchOffset: 21n }] }],
      }),
    }
    const res = response(
      ApiKey.Fetch,
      12,
      { responses: [{ topic: 'orders', partitions: [{ partitionIndex: 1, records, highWatermark: 23n }] }] },
      fetchReq as DecodedRequest<1>,
    )
    h.filter.onResponse!(res, ctx)
    res.body.responses[0]!.partitions[0]!.records!.fill(0) // the read buffer, reused
    await h.idle()
    expect(
      h.upstream.records.map((r) => [text(r.value), header(r, TAP_HEADERS.offset), header(r, TAP_HEADERS.direction)]),
    ).toEqual([
      ['r1', '21', 'fetch'],
      ['r2', '22', 'fetch'],
    ])
  })

  it('a full queue drops and counts; what was taken is produced once the tap cluster takes it', async () => {
    const h = await tapFilter({ queue: { maxRecords: 3 }, taps: [{ name: 't', topic: 'tap-out' }] })
    h.upstream.hold()
    const buf = Buffer.alloc(4096)
    for (let i = 0; i < 5; i++) {
      const req = produceInto(buf, 'orders', [`a${i}`, `b${i}`])
      h.filter.onRequest!(req, CTX)
      h.filter.onResponse!(produceAnswer(req, 'orders', BigInt(i * 2)), CTX)
    }
    await new Promise((r) => setTimeout(r, 20))
    expect(h.metrics.values.get('queue_records')).toBe(2) // one request's two records fit, the others were dropped
    h.upstream.release()
    await h.idle()
    expect(h.upstream.records.map((r) => text(r.value))).toEqual(['a0', 'b0'])
    expect(h.metrics.values.get('records_total{outcome="dropped",tap="t"}')).toBe(8)
    expect(h.metrics.values.get('queue_records')).toBe(0)
    expect(h.metrics.values.get('queue_bytes')).toBe(0)
  })

  it('a failing tap cluster: records counted as failed, logged once, and once more when it delivers again', async () => {
    const h = await tapFilter({ taps: [{ name: 't', topic: 'tap-out' }] })
    h.upstream.failWith = Object.assign(new Error('no upstream broker answered'), {
      code: 'KSC_ERR_UPSTREAM_CLIENT_UNREACHABLE',
    })
    const buf = Buffer.alloc(4096)
    const send = async (v: string) => {
      const req = produceInto(buf, 'orders', [v])
      h.filter.onRequest!(req, CTX)
      h.filter.onResponse!(produceAnswer(req, 'orders', 0n), CTX)
      await h.idle()
    }
    for (let i = 0; i < 3; i++) await send(`lost${i}`)
    expect(h.metrics.values.get('records_total{outcome="failed",tap="t"}')).toBe(3)
    expect((h.configured as TapFilter).health()).toMatchObject({
      ready: true,
      delivering: false,
      detail: expect.stringMatching(/^tap destination upstream not delivering: no upstream broker answered/),
      destinations: [{ name: 'upstream', delivering: false, lastError: 'no upstream broker answered' }],
    })
    h.upstream.failWith = undefined
    await send('back')
    expect(h.upstream.records.map((r) => text(r.value))).toEqual(['back'])
    const lines = h.logs.map((l) => l.msg as string).filter((m) => m.startsWith('tap destination'))
    expect(lines).toEqual([
      expect.stringMatching(/^tap destination upstream fails/),
      'tap destination upstream delivers again',
    ])
    expect((h.configured as TapFilter).health()).toMatchObject({ ready: true, delivering: true })
  })

  it('records the producer may still hold after a failure keep their memory until its delivery timeout', async () => {
    const h = await tapFilter({ taps: [{ name: 't', topic: 'tap-out' }] })
    h.upstream.failWith = Object.assign(new Error('records not delivered within 120000 ms'), {
      code: 'KSC_ERR_UPSTREAM_CLIENT_DELIVERY_TIMEOUT',
    })
    const req = produceInto(Buffer.alloc(4096), 'orders', ['x', 'y'])
    h.filter.onRequest!(req, CTX)
    h.filter.onResponse!(produceAnswer(req, 'orders', 0n), CTX)
    await h.idle()
    expect(h.metrics.values.get('records_total{outcome="failed",tap="t"}')).toBe(2)
    expect(h.metrics.values.get('queue_records')).toBe(2)
    h.clock.advance(119_999)
    expect(h.metrics.values.get('queue_records')).toBe(2)
    h.clock.advance(1)
    expect(h.metrics.values.get('queue_records')).toBe(0)
  })

  it('a connection that closes before its answers gives its copies back', async () => {
    const h = await tapFilter({ taps: [{ name: 't', topic: 'tap-out' }] })
    h.filter.onRequest!(produceInto(Buffer.alloc(4096), 'orders', ['x']), CTX)
    expect(h.metrics.values.get('queue_records')).toBe(1)
    h.filter.onClose!()
    expect(h.metrics.values.get('queue_records')).toBe(0)
  })

  it('record sampling at 10% taps about 10%', async () => {
    const h = await tapFilter({ taps: [{ name: 's', topic: 'tap-out', sample: 0.1 }] })
    const buf = Buffer.alloc(64 * 1024)
    for (let i = 0; i < 100; i++) {
      const req = produceInto(
        buf,
        'orders',
        Array.from({ length: 100 }, (_, j) => `${i}-${j}`),
      )
      h.filter.onRequest!(req, CTX)
      h.filter.onResponse!(produceAnswer(req, 'orders', BigInt(i * 100)), CTX)
    }
    await h.idle()
    // 10,000 records at p = 0.1: the standard deviation is 30, so 800..1200 is more than six of them.
    expect(h.upstream.records.length).toBeGreaterThan(800)
    expect(h.upstream.records.length).toBeLessThan(1200)
  })
})

/** Calls the admin route as the admin endpoint would. */
async function call(
  route: AdminRouteHandler,
  method: string,
  options: { body?: unknown; query?: string; peer?: string } = {},
): Promise<{ status: number; body: Record<string, unknown> }> {
  const req = Object.assign(
    Readable.from(options.body === undefined ? [] : [Buffer.from(JSON.stringify(options.body))]),
    {
      method,
      url: `${TAP_ROUTE}${options.query ?? ''}`,
      socket: { remoteAddress: options.peer ?? '127.0.0.1' },
    },
  )
  let status = 0
  let text = ''
  const res = {
    writeHead: (s: number) => {
      status = s
    },
    end: (t: string) => {
      text = t
    },
  }
  await route(req as never, res as never)
  return { status, body: JSON.parse(text) as Record<string, unknown> }
}

describe('tap control through the admin endpoint', () => {
  const orders = { name: 'live', topic: 'tap-out', match: { clientId: 'orders-svc' }, durationMs: 60_000 }

  it('POST starts a tap that stops by itself at its time limit; GET shows it; DELETE stops one early', async () => {
    const h = await tapFilter({})
    const route = h.route!
    expect(h.filter.wantsRequest!(ApiKey.Produce, 9)).toBe(true) // control is on: every producer can be tapped later
    const started = await call(route, 'POST', { body: orders })
    expect(started.status).toBe(201)
    expect(started.body.started).toMatchObject({ name: 'live', origin: 'admin', durationMs: 60_000 })
    const buf = Buffer.alloc(4096)
    const produce = async (v: string) => {
      const req = produceInto(buf, 'orders', [v])
      h.filter.onRequest!(req, CTX)
      h.filter.onResponse!(produceAnswer(req, 'orders', 0n), CTX)
      await h.idle()
    }
    await produce('while-on')
    const listed = await call(route, 'GET')
    expect(listed.body.taps).toMatchObject([{ name: 'live', counts: { records: { tapped: 1 } } }])
    h.clock.advance(60_000)
    await produce('after-limit')
    expect(h.upstream.records.map((r) => text(r.value))).toEqual(['while-on'])
    expect(h.logs.some((l) => l.msg === 'tap live stopped: its time limit passed')).toBe(true)
    expect((await call(route, 'GET')).body.taps).toEqual([])

    expect((await call(route, 'POST', { body: orders })).status).toBe(201)
    const stopped = await call(route, 'DELETE', { query: '?name=live' })
    expect(stopped).toMatchObject({ status: 200, body: { stopped: 'live' } })
    await produce('after-delete')
    expect(h.upstream.records.map((r) => text(r.value))).toEqual(['while-on'])
    expect((await call(route, 'DELETE', { query: '?name=live' })).status).toBe(404)
  })

  it('refuses control from other hosts unless allowed, bad taps with the key named, and taps of the file', async () => {
    const h = await tapFilter({ taps: [{ name: 'fixed', topic: 'x' }] })
    const route = h.route!
    const remote = await call(route, 'POST', { body: orders, peer: '10.1.2.3' })
    expect(remote.status).toBe(403)
    expect(remote.body.error).toMatch(/loopback only, not 10\.1\.2\.3/)
    expect((await call(route, 'GET', { peer: '10.1.2.3' })).status).toBe(200)
    const bad = await call(route, 'POST', { body: { name: 'x', topic: 'y' } })
    expect(bad).toMatchObject({ status: 400, body: { error: expect.stringMatching(/^tap\.durationMs: is missing/) } })
    const long = await call(route, 'POST', { body: { ...orders, durationMs: 10 * 3_600_000 } })
    expect(long.status).toBe(400)
    expect((await call(route, 'POST', { body: { ...orders, name: 'fixed' } })).status).toBe(409)
    expect((await call(route, 'DELETE', { query: '?name=fixed' })).status).toBe(409)
    expect((await call(route, 'PUT')).status).toBe(405)
    const open = await tapFilter({ control: { allowRemote: true } })
    expect((await call(open.route!, 'POST', { body: orders, peer: '10.1.2.3' })).status).toBe(201)
    const off = await tapFilter({ control: { enabled: false } })
    expect((await call(off.route!, 'POST', { body: orders })).status).toBe(403)
  })

  it('loopback addresses', () => {
    expect(['127.0.0.1', '127.8.9.1', '::1', '::ffff:127.0.0.1'].every(isLoopback)).toBe(true)
    expect(['10.0.0.1', '::ffff:10.0.0.1', '0.0.0.0', '::', ''].some(isLoopback)).toBe(false)
  })

  it('a hot reload keeps the admin taps, the queue and the counts; the replaced instance leaves them running', async () => {
    const h = await tapFilter({})
    expect((await call(h.route!, 'POST', { body: orders })).status).toBe(201)
    const setup = {
      ...setupContext({ upstream: h.upstream, clock: h.clock, metrics: h.metrics }),
      admin: { route: () => {} },
    }
    const next = (await tapPlugin.configure(
      tapPlugin.parseConfig({ taps: [{ name: 'from-file', topic: 'tap-2' }] }),
      setup,
      h.configured,
    )) as TapFilter
    await h.configured.close!()
    expect(next.engine).toBe((h.configured as TapFilter).engine)
    expect(next.engine.taps.all.map((t) => t.name).sort()).toEqual(['from-file', 'live'])
    // A connection opened before the reload keeps its filter, which sees the new taps too.
    const req = produceInto(Buffer.alloc(4096), 'orders', ['both'])
    h.filter.onRequest!(req, CTX)
    h.filter.onResponse!(produceAnswer(req, 'orders', 0n), CTX)
    await next.engine.whenIdle()
    expect(h.upstream.produced.map((p) => p.topic).sort()).toEqual(['tap-2', 'tap-out'])
    await next.close()
    expect(next.engine.isClosed).toBe(true)
  })
})
