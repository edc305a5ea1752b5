/**
 * What schema validation costs per record: records/s on one core through the schema-validation filter's Produce path
 * (the request as the runtime hands it over: records as one Buffer per partition; batches found, decompressed,
 * every record's framing read, its schema found in the cache, the record checked), for 1 KiB Avro (avsc) and JSON
 * Schema (ajv) records in the Confluent framing, uncompressed and compressed, next to the bare decode of the same
 * batches (decompress + iterate records, no check) that any filter reading records pays. Schemas come from a
 * registry stand-in on loopback, asked once and then served from the cache, as in steady state. Prints a table.
 *
 *   npm run build && node dist/bench/schema-validation.js [--time-ms=1000] [--records=16]
 */
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import avsc from 'avsc'
import pino from 'pino'
import { CompressionType, encodeRecordBatch, readBatches } from '../codec/records/index.js'
import { schemaValidationPlugin } from '../filters/schema-validation/index.js'
import type { SchemaValidation } from '../filters/schema-validation/schema-validation.js'
import { SYSTEM_CLOCK } from '../src/pipeline/clock.js'
import { ApiKey, type DecodedRequest, type FilterContext } from '../src/pipeline/filter-api.js'
import { bestRate, timeMsArg } from './lib/micro.js'

const TIME_MS = timeMsArg()
const RECORDS = Number(process.argv.find((a) => a.startsWith('--records='))?.slice(10) ?? 16)
const VALUE_BYTES = 1024

const AVRO_SCHEMA = {
  type: 'record',
  name: 'Order',
  namespace: 'bench',
  fields: [
    { name: 'id', type: 'string' },
    { name: 'customer', type: 'string' },
    { name: 'amount', type: 'long' },
    { name: 'currency', type: { type: 'enum', name: 'Currency', symbols: ['EUR', 'USD', 'GBP'] } },
    {
      name: 'lines',
      type: {
        type: 'array',
        items: {
          type: 'record',
          name: 'Line',
          fields: [
            { name: 'sku', type: 'string' },
            { name: 'qty', type: 'int' },
            { name: 'note', type: 'string' },
          ],
        },
      },
    },
  ],
}
const JSON_SCHEMA = {
  type: 'object',
  required: ['id', 'customer', 'amount', 'currency', 'lines'],
  properties: {
    id: { type: 'string' },
    customer: { type: 'string', format: 'email' },
    amount: { type: 'integer', minimum: 0 },
    currency: { enum: ['EUR', 'USD', 'GBP'] },
    lines: {
      type: 'array',
      items: {
        type: 'object',
        required: ['sku', 'qty'],
        properties: { sku: { type: 'string' }, qty: { type: 'integer', minimum: 1 }, note: { type: 'string' } },
      },
    },
  },
}

/** An order whose encoding is about `bytes` long: lines are added until it is. */
function order(i: number, encode: (o: object) => Buffer, bytes: number): Buffer {
  const o = {
    id: `order-${i}`,
    customer: `c${i}@shop.example`,
    amount: 1000 + i,
    currency: 'EUR',
    lines: [] as object[],
  }
  let enc = encode(o)
  while (enc.length < bytes) {
    o.lines.push({ sku: `sku-${o.lines.length}`, qty: 1 + (o.lines.length % 5), note: 'gift wrap, leave at the door' })
    enc = encode(o)
  }
  return enc
}

function framed(id: number, payload: Buffer): Buffer {
  const head = Buffer.alloc(5)
  head.writeInt32BE(id, 1)
  return Buffer.concat([head, payload])
}

async function registryStandIn(): Promise<{ url: string; close(): void }> {
  const server = http.createServer((req, res) => {
    const m = /\/schemas\/ids\/(\d+)(\/versions)?$/.exec(req.url ?? '')
    res.setHeader('content-type', 'application/json')
    if (!m) return void res.writeHead(404).end('{}')
    const id = Number(m[1])
    if (m[2])
      return void res.end(JSON.stringify([{ subject: id === 1 ? 'orders-value' : 'payments-value', version: 1 }]))
    res.end(
      JSON.stringify(
        id === 1
          ? { schema: JSON.stringify(AVRO_SCHEMA) }
          : { schema: JSON.stringify(JSON_SCHEMA), schemaType: 'JSON' },
      ),
    )
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => server.close() }
}

function produceRequest(topic: string, records: Buffer): DecodedRequest {
  return {
    apiKey: ApiKey.Produce,
    apiVersion: 9,
    header: { requestApiKey: ApiKey.Produce, requestApiVersion: 9, correlationId: 1, clientId: 'bench' },
    size: records.length + 100,
    body: {
      transactionalId: null,
      acks: -1,
      timeoutMs: 30_000,
      topicData: [{ name: topic, partitionData: [{ index: 0, records }] }],
    },
  } as unknown as DecodedRequest
}

async function main(): Promise<void> {
  const registry = await registryStandIn()
  const metrics = { counter: () => ({ inc() {} }), gauge: () => ({ set() {}, inc() {}, dec() {} }) }
  const log = pino({ level: 'silent' })
  const configured = (await schemaValidationPlugin.configure(
    schemaValidationPlugin.parseConfig({
      registry: { url: `${registry.url}/apis/ccompat/v7` },
      rules: [
        { topic: 'orders', value: { format: 'avro', registry: { subject: 'topic' } } },
        { topic: 'payments', value: { format: 'json-schema', registry: { subject: 'topic' } } },
      ],
    }),
    {
      log,
      metrics,
      clock: SYSTEM_CLOCK,
      configDir: process.cwd(),
      upstream: undefined,
      statistics: undefined,
      audit: undefined,
    },
  )) as SchemaValidation
  const filter = configured.forConnection()
  const ctx = { clientId: 'bench', log } as unknown as FilterContext

  const avroType = avsc.Type.forSchema(AVRO_SCHEMA as avsc.Schema)
  const avro = Array.from({ length: RECORDS }, (_, i) =>
    framed(
      1,
      order(i, (o) => avroType.toBuffer(o), VALUE_BYTES),
    ),
  )
  const json = Array.from({ length: RECORDS }, (_, i) =>
    framed(
      2,
      order(i, (o) => Buffer.from(JSON.stringify(o)), VALUE_BYTES),
    ),
  )
  const codecs: [string, CompressionType][] = [
    ['none', CompressionType.None],
    ['lz4', CompressionType.Lz4],
    ['zstd', CompressionType.Zstd],
    ['snappy', CompressionType.Snappy],
    ['gzip', CompressionType.Gzip],
  ]

  console.log(
    `schema-validation: records/s on one core, ${RECORDS} records of ${VALUE_BYTES} B per batch (Confluent framing), best of ${TIME_MS} ms`,
  )
  console.log(`node ${process.version}, ${process.arch}\n`)
  console.log('| format | compression | validated records/s | decode only records/s | validation MB/s |')
  console.log('|---|---|---:|---:|---:|')
  for (const [format, topic, values] of [
    ['avro', 'orders', avro],
    ['json-schema', 'payments', json],
  ] as const) {
    for (const [name, compression] of codecs) {
      const records = encodeRecordBatch(
        values.map((value) => ({ value })),
        { compression },
      )
      const req = produceRequest(topic, records)
      // The first request looks the schema up; every one after it is judged from the cache, synchronously.
      const first = await filter.onRequest!(req, ctx)
      if (first !== undefined) throw new Error(`the bench records did not pass: ${JSON.stringify(first)}`)
      const validated =
        bestRate(() => {
          if (filter.onRequest!(req, ctx) !== undefined) throw new Error('verdict')
        }, TIME_MS) * RECORDS
      const decoded =
        bestRate(() => {
          for (const b of readBatches(records)) if (b.kind === 'batch') for (const r of b.records()) void r.value
        }, TIME_MS) * RECORDS
      const mb = (validated * values[0]!.length) / 1e6
      console.log(`| ${format} | ${name} | ${fmt(validated)} | ${fmt(decoded)} | ${mb.toFixed(0)} |`)
    }
  }
  await configured.close()
  registry.close()
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US')

await main()
