import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { RegistryHttp } from '../../../filters/schema-validation/registry-client.js'
import { type RegistryCallObserver, SchemaRegistryCache } from '../../../filters/schema-validation/schema-registry.js'
import { FakeClock } from '../../support/filter-testing.js'
import { FakeRegistry } from './fake-registry.js'

const AVRO = JSON.stringify({
  type: 'record',
  name: 'Order',
  namespace: 'shop',
  fields: [{ name: 'id', type: 'string' }],
})

describe('SchemaRegistryCache against an HTTP registry', () => {
  let registry: FakeRegistry
  let http: RegistryHttp
  let clock: FakeClock
  const calls: string[] = []
  const states: boolean[] = []
  const observer: RegistryCallObserver = { call: (o) => void calls.push(o), state: (up) => void states.push(up) }
  const options = { maxSchemas: 2, ttlMs: 60_000, unknownIdTtlMs: 5_000, retryBackoffMs: 1_000 }

  beforeEach(async () => {
    registry = await new FakeRegistry().start()
    registry.add(1, { schema: AVRO, subject: 'orders-value', version: 3 })
    registry.add(2, { schema: '{"type":"object"}', schemaType: 'JSON', subject: 'x-value' })
    registry.add(3, {
      schema: 'syntax = "proto3"; message M { int32 a = 1; }',
      schemaType: 'PROTOBUF',
      subject: 'm-value',
    })
    http = new RegistryHttp({
      url: registry.url,
      authorization: 'Bearer t0k',
      ca: undefined,
      insecureSkipVerify: false,
      timeoutMs: 300,
    })
    clock = new FakeClock()
    calls.length = 0
    states.length = 0
  })
  afterEach(async () => {
    http.close()
    await registry.stop()
  })

  it('fetches a schema and its subjects once for concurrent callers, compiled, with the credentials', async () => {
    const cache = new SchemaRegistryCache(http, clock, options, observer)
    const [a, b] = await Promise.all([cache.lookUp(1), cache.lookUp(1)])
    expect(a).toBe(b)
    expect(a).toMatchObject({
      kind: 'found',
      schema: { id: 1, format: 'avro', subjects: [{ subject: 'orders-value', version: 3 }] },
    })
    expect(registry.requests.map((r) => r.path).sort()).toEqual(['/schemas/ids/1', '/schemas/ids/1/versions'])
    expect(registry.requests.every((r) => r.authorization === 'Bearer t0k')).toBe(true)
    expect(cache.cached(1)).toMatchObject({ kind: 'found' })
    expect(calls).toEqual(['ok', 'ok'])
  })

  it('keeps at most maxSchemas, the oldest leaving first; an entry expires after ttlMs', async () => {
    const cache = new SchemaRegistryCache(http, clock, options)
    await cache.lookUp(1)
    await cache.lookUp(2)
    await cache.lookUp(3)
    expect(cache.size).toBe(2)
    expect(cache.cached(1)).toBeUndefined()
    expect(cache.cached(3)?.kind).toBe('found')
    clock.advance(60_001)
    expect(cache.cached(3)).toBeUndefined()
  })

  it('a schema registered under another subject after it was cached: its subjects may be asked again after a second', async () => {
    const cache = new SchemaRegistryCache(http, clock, options)
    await cache.lookUp(1)
    expect(cache.canRefresh(1)).toBe(false)
    // Apicurio gives the same content the same id when another subject registers it.
    registry.add(1, { schema: AVRO, subject: 'orders-copy-value', version: 1 })
    clock.advance(1_001)
    expect(cache.canRefresh(1)).toBe(true)
    expect(await cache.refresh(1)).toMatchObject({
      kind: 'found',
      schema: { subjects: [{ subject: 'orders-copy-value' }] },
    })
    expect(cache.canRefresh(1)).toBe(false)
    expect(cache.canRefresh(42)).toBe(false)
  })

  it('remembers an unknown id for unknownIdTtlMs', async () => {
    const cache = new SchemaRegistryCache(http, clock, options)
    expect(await cache.lookUp(99)).toEqual({ kind: 'unknown', reason: 'schema id 99 is not in the registry' })
    expect(cache.cached(99)?.kind).toBe('unknown')
    clock.advance(5_001)
    expect(cache.cached(99)).toBeUndefined()
  })

  it('registry down: unavailable with the reason, no new call until the back-off passed, stale schemas still used, health says so; up again after a success', async () => {
    const cache = new SchemaRegistryCache(http, clock, options, observer)
    await cache.lookUp(1)
    registry.mode = 'error'
    clock.advance(60_001)
    // Expired, but the registry fails: the schema an id names never changes, so the old one is used.
    expect((await cache.lookUp(1)).kind).toBe('found')
    expect(cache.health()).toMatchObject({ up: false, reason: expect.stringMatching(/HTTP 500: storage down/) })
    const before = registry.requests.length
    expect(await cache.lookUp(2)).toMatchObject({ kind: 'unavailable', reason: expect.stringMatching(/HTTP 500/) })
    expect(registry.requests.length).toBe(before)
    registry.mode = 'ok'
    clock.advance(1_001)
    expect((await cache.lookUp(2)).kind).toBe('found')
    expect(cache.health()).toEqual({ up: true })
    expect(states).toEqual([false, true])
  })

  it('a registry that does not answer in timeoutMs, or refuses the credentials, is unavailable', async () => {
    const cache = new SchemaRegistryCache(http, clock, { ...options, retryBackoffMs: 0 })
    registry.mode = 'hang'
    expect(await cache.lookUp(1)).toMatchObject({
      kind: 'unavailable',
      reason: expect.stringMatching(/no answer within 300 ms/),
    })
    registry.mode = 'unauthorized'
    expect(await cache.lookUp(1)).toMatchObject({
      kind: 'unavailable',
      reason: expect.stringMatching(/refused the sidecar's credentials \(HTTP 401/),
    })
  })

  it('a stopped registry is unavailable with the connection error', async () => {
    const cache = new SchemaRegistryCache(http, clock, options)
    await registry.stop()
    expect(await cache.lookUp(1)).toMatchObject({
      kind: 'unavailable',
      reason: expect.stringMatching(/cannot reach the schema registry at http:\/\/127.0.0.1:\d+: connect ECONNREFUSED/),
    })
  })

  it('a schema it cannot compile is found but unusable; a referenced schema is fetched by subject and version', async () => {
    registry.add(10, { schema: '{"type":"record","name":"Broken"}', subject: 'b-value' })
    registry.add(11, {
      schema: JSON.stringify({ type: 'record', name: 'Money', fields: [{ name: 'c', type: 'long' }] }),
      subject: 'money',
      version: 2,
    })
    registry.add(12, {
      schema: JSON.stringify({ type: 'record', name: 'Pay', fields: [{ name: 't', type: 'Money' }] }),
      subject: 'pay-value',
      references: [{ name: 'Money', subject: 'money', version: 2 }],
    })
    const cache = new SchemaRegistryCache(http, clock, options)
    const broken = await cache.lookUp(10)
    expect(broken).toMatchObject({
      kind: 'found',
      schema: { compiled: undefined, unusable: expect.stringMatching(/not a usable Avro schema/) },
    })
    const pay = await cache.lookUp(12)
    expect(pay.kind === 'found' && pay.schema.compiled?.check(Buffer.from([0x02]))).toBeUndefined()
    expect(registry.requests.map((r) => r.path)).toContain('/subjects/money/versions/2')
  })
})
