import { readFileSync } from 'node:fs'
import avsc from 'avsc'
import fc from 'fast-check'
import { describe, expect, it, vi } from 'vitest'
import { type CompressionType, encodeRecordBatch, RecordBatch, type RecordInput } from '../../../codec/records/index.js'
import type { PartRule, Rule } from '../../../filters/schema-validation/config.js'
import type { LocalSchemas } from '../../../filters/schema-validation/local-schemas.js'
import { type CheckEnvironment, checkPartition } from '../../../filters/schema-validation/record-check.js'
import { compileAvro } from '../../../filters/schema-validation/validators/avro.js'
import { compileJsonSchema } from '../../../filters/schema-validation/validators/json-schema.js'

/**
 * checkPartition walks records in place when the rule reads no header, and decodes them otherwise. The same
 * records under the same rule, once as is and once with a required header every record carries (which forces
 * decoding), must give the same result: verdicts, messages, indexes, counts.
 */

const SOURCE = readFileSync(new URL('../../../bench/configs/schema-validation/order.avsc', import.meta.url), 'utf8')
const TYPE = avsc.Type.forSchema(JSON.parse(SOURCE) as avsc.Schema)
const COMPILED = compileAvro(SOURCE)
const ID = 7

const env: CheckEnvironment = {
  resolve: (id) =>
    id === ID
      ? {
          kind: 'found',
          schema: {
            id,
            schemaType: 'AVRO',
            format: 'avro',
            compiled: COMPILED,
            unusable: undefined,
            subjects: [{ subject: 'orders-value', version: 3 }],
          },
        }
      : id === 8
        ? { kind: 'unknown', reason: 'schema id 8 is not in the registry' }
        : undefined,
  canRefresh: () => false,
  local: { get: () => COMPILED, label: () => 'file order.avsc' } as unknown as LocalSchemas,
}

const REGISTRY: PartRule = {
  format: 'avro',
  source: { kind: 'registry', framing: 'confluent', subject: 'topic' },
  allowNull: false,
}
const FILE: PartRule = { format: 'avro', source: { kind: 'file', path: 'order.avsc' }, allowNull: true }

function rule(value: PartRule, key?: PartRule, requiredHeaders: string[] = []): Rule {
  return {
    name: 'orders',
    match: { kind: 'exact', topic: 'orders' },
    key,
    value,
    requiredHeaders,
    onRegistryDown: 'fail-closed',
  }
}

function framed(id: number, payload: Buffer): Buffer {
  const head = Buffer.alloc(5)
  head.writeInt32BE(id, 1)
  return Buffer.concat([head, payload])
}

// Orders drawn by fast-check, not avsc's Type.random() (Math.random): with the seed below every run, on every
// Node version, checks the same records and reaches the same failure kinds.
const line = fc.record({ sku: fc.string({ maxLength: 8 }), qty: fc.integer(), note: fc.string({ maxLength: 12 }) })
const validOrder = fc
  .record({
    id: fc.string({ maxLength: 12 }),
    customer: fc.string({ maxLength: 12 }),
    amount: fc.integer(),
    currency: fc.constantFrom('EUR', 'USD', 'GBP'),
    lines: fc.array(line, { maxLength: 4 }),
  })
  .map((order) => TYPE.toBuffer(order))
const payload = fc.oneof(
  { weight: 4, arbitrary: validOrder },
  {
    weight: 2,
    arbitrary: fc
      .tuple(validOrder, fc.nat(), fc.integer({ min: 0, max: 255 }), fc.boolean())
      .map(([buf, at, byte, cut]) => {
        const b = Buffer.from(buf)
        b[at % b.length] = byte
        return cut ? b.subarray(0, at % b.length) : Buffer.concat([b, Buffer.from([0])])
      }),
  },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 40 }).map((a) => Buffer.from(a)) },
)
const value = fc.oneof(
  { weight: 6, arbitrary: payload.map((p) => framed(ID, p)) },
  { weight: 1, arbitrary: payload },
  { weight: 1, arbitrary: fc.constantFrom(null, Buffer.alloc(0), Buffer.from([0, 0, 0])) },
  { weight: 1, arbitrary: payload.map((p) => framed(8, p)) },
  // An id the registry was never asked about: the partition waits for a lookup (`missing`).
  { weight: 1, arbitrary: payload.map((p) => framed(9, p)) },
)
const record: fc.Arbitrary<RecordInput> = fc.record({
  key: fc.option(payload, { nil: null }),
  value,
  headers: fc.array(fc.record({ key: fc.constantFrom('a', 'trace'), value: fc.constant(Buffer.from('x')) }), {
    maxLength: 2,
  }),
})
const records = fc
  .array(fc.tuple(fc.array(record, { minLength: 1, maxLength: 25 }), fc.constantFrom<CompressionType>(0, 1, 2, 3, 4)), {
    minLength: 1,
    maxLength: 3,
  })
  .map((batches) => batches.map(([rs, compression]) => ({ rs, compression })))

/** The batches with a header `required` added to every record (the rule then requires it: records are decoded). */
function encode(batches: { rs: RecordInput[]; compression: CompressionType }[], withHeader: boolean): Buffer {
  return Buffer.concat(
    batches.map(({ rs, compression }) =>
      encodeRecordBatch(
        rs.map((r) => (withHeader ? { ...r, headers: [...(r.headers ?? []), { key: 'required', value: null }] } : r)),
        { compression },
      ),
    ),
  )
}

describe('checkPartition in place', () => {
  for (const [name, value, key] of [
    ['registry value', REGISTRY, undefined],
    ['file value and key', FILE, FILE],
  ] as const) {
    it(`gives what decoding gives: ${name}`, () => {
      const kinds = new Set<string>()
      const walked = vi.spyOn(RecordBatch.prototype, 'recordSpans')
      fc.assert(
        fc.property(records, (batches) => {
          walked.mockClear()
          const inPlace = checkPartition(encode(batches, false), 'orders', rule(value, key), env)
          expect(walked).toHaveBeenCalled()
          walked.mockClear()
          const decoded = checkPartition(encode(batches, true), 'orders', rule(value, key, ['required']), env)
          expect(walked).not.toHaveBeenCalled()
          expect(inPlace).toEqual(decoded)
          for (const f of inPlace.failures) kinds.add(f.kind)
          if (inPlace.missing !== undefined) kinds.add('missing')
        }),
        { numRuns: 150, seed: 11 },
      )
      walked.mockRestore()
      // The records reach every way a record can fail here, and valid ones.
      expect([...kinds].sort()).toEqual(
        value === REGISTRY ? ['framing', 'missing', 'null', 'schema', 'unknown_schema'] : ['schema'],
      )
    })
  }

  it('gives what decoding gives: JSON Schema values from a file, each read where it lies in the batch', () => {
    const source = readFileSync(
      new URL('../../../bench/configs/schema-validation/order.schema.json', import.meta.url),
      'utf8',
    )
    const json = compileJsonSchema(source)
    const jsonEnv: CheckEnvironment = {
      ...env,
      local: { get: () => json, label: () => 'file order.schema.json' } as unknown as LocalSchemas,
    }
    const jsonFile: PartRule = {
      format: 'json-schema',
      source: { kind: 'file', path: 'order.schema.json' },
      allowNull: true,
    }
    const order = fc
      .record({ n: fc.nat({ max: 999 }), lines: fc.integer({ min: 0, max: 3 }), qty: fc.integer({ min: -1, max: 3 }) })
      .map(({ n, lines, qty }) =>
        JSON.stringify({
          id: `order-${n}`,
          customer: `c${n}@shop.example`,
          amount: n,
          currency: 'EUR',
          lines: Array.from({ length: lines }, (_, i) => ({ sku: `sku-${i}`, qty })),
        }),
      )
    // Valid orders, orders the schema refuses, and orders cut short: the next record's bytes follow each in place.
    const jsonValue = fc.oneof(
      { weight: 4, arbitrary: order.map((t) => Buffer.from(t)) },
      { weight: 2, arbitrary: fc.tuple(order, fc.nat()).map(([t, at]) => Buffer.from(t.slice(0, at % t.length))) },
      { weight: 1, arbitrary: fc.constantFrom(null, Buffer.alloc(0), Buffer.from('{"id":1}')) },
    )
    const jsonRecords = fc
      .array(fc.tuple(fc.array(jsonValue, { minLength: 1, maxLength: 20 }), fc.constantFrom<CompressionType>(0, 2)), {
        minLength: 1,
        maxLength: 2,
      })
      .map((batches) => batches.map(([vs, compression]) => ({ rs: vs.map((value) => ({ value })), compression })))
    let passed = 0
    let failed = 0
    fc.assert(
      fc.property(jsonRecords, (batches) => {
        const inPlace = checkPartition(encode(batches, false), 'orders', rule(jsonFile), jsonEnv)
        const decoded = checkPartition(
          encode(batches, true),
          'orders',
          rule(jsonFile, undefined, ['required']),
          jsonEnv,
        )
        expect(inPlace).toEqual(decoded)
        passed += inPlace.records - inPlace.failed
        failed += inPlace.failed
      }),
      { numRuns: 150, seed: 5 },
    )
    expect(passed).toBeGreaterThan(100)
    expect(failed).toBeGreaterThan(100)
  })

  it('says what check() says of a view, and stops where a corrupt batch stops', () => {
    const good = TYPE.toBuffer(TYPE.random())
    const bad = good.subarray(0, good.length - 1)
    const batch = Buffer.from(
      encodeRecordBatch([{ value: framed(ID, good) }, { value: framed(ID, bad) }, { value: Buffer.from([1]) }]),
    )
    const result = checkPartition(batch, 'orders', rule(REGISTRY), env)
    expect(result.records).toBe(3)
    expect(result.failures).toEqual([
      {
        index: 1,
        kind: 'schema',
        message: `record 1: value: ${COMPILED.check(bad)} (schema orders-value v3) (rule orders)`,
      },
      {
        index: 2,
        kind: 'framing',
        message:
          'record 2: value has no magic byte: starts with 0x01 where a schema registry serializer writes 0x00 and a 4-byte schema id (rule orders)',
      },
    ])
    // A count one short of the records: the first two are checked, then the batch is unreadable.
    const cut = Buffer.from(batch)
    cut.writeInt32BE(2, 57)
    const partial = checkPartition(cut, 'orders', rule(REGISTRY), env)
    expect(partial.records).toBe(2)
    expect(partial.failed).toBe(1)
    expect(partial.unreadable).toMatch(
      /^the records cannot be read: record batch has \d+ byte\(s\) after its 2 declared/,
    )
  })
})
