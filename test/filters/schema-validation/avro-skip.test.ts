import avsc from 'avsc'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { compileAvroSkip } from '../../../filters/schema-validation/validators/avro-skip.js'

/**
 * The Avro fast path (avro-skip.ts) must agree with avsc: every valid encoding is walked to its last byte
 * (else valid records would lose the fast path, which only costs time), and whatever it walks to the last byte
 * avsc decodes without error and to the same length (else an invalid record would pass: the property that matters).
 */
const SCHEMAS: Record<string, avsc.Schema> = {
  primitives: {
    type: 'record',
    name: 'P',
    fields: [
      { name: 'n', type: 'null' },
      { name: 'b', type: 'boolean' },
      { name: 'i', type: 'int' },
      { name: 'l', type: 'long' },
      { name: 'f', type: 'float' },
      { name: 'd', type: 'double' },
      { name: 's', type: 'string' },
      { name: 'y', type: 'bytes' },
    ],
  },
  order: {
    type: 'record',
    name: 'Order',
    fields: [
      { name: 'id', type: 'string' },
      { name: 'currency', type: { type: 'enum', name: 'Currency', symbols: ['EUR', 'USD', 'GBP'] } },
      { name: 'hash', type: { type: 'fixed', name: 'Hash', size: 8 } },
      { name: 'note', type: ['null', 'string'] },
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
            ],
          },
        },
      },
      { name: 'tags', type: { type: 'map', values: ['null', 'long', 'Line'] } },
    ],
  },
  // More nulls than bytes left are left to avsc: the fast path walks only what the bytes bound.
  nullItems: { type: 'array', items: 'null' },
  recursive: {
    type: 'record',
    name: 'Node',
    fields: [
      { name: 'value', type: 'int' },
      { name: 'next', type: ['null', 'Node'] },
    ],
  },
  wrappedUnion: ['null', 'int', 'string', { type: 'array', items: 'long' }],
}

function avscVerdict(type: avsc.Type, buf: Buffer): number {
  try {
    return type.decode(buf, 0).offset
  } catch {
    return -1
  }
}

describe('Avro fast path', () => {
  for (const [name, schema] of Object.entries(SCHEMAS)) {
    describe(name, () => {
      const wrapped = name === 'wrappedUnion'
      const type = avsc.Type.forSchema(schema, { wrapUnions: wrapped })
      const skip = compileAvroSkip(type)!

      it('walks every valid encoding to its last byte', () => {
        for (let i = 0; i < 500; i++) {
          const value = type.random()
          const buf = type.toBuffer(value)
          // [count][0]: one byte left after the count, so two nulls or more are avsc's to judge.
          const nullsBeyondBytes = name === 'nullItems' && (value as unknown as unknown[]).length > 1
          expect(skip(buf, 0)).toBe(nullsBeyondBytes ? -1 : buf.length)
        }
      })

      it('walks a payload inside a larger buffer as it walks a view of it', () => {
        fc.assert(
          fc.property(
            fc.uint8Array({ maxLength: 64 }),
            fc.uint8Array({ maxLength: 8 }),
            fc.uint8Array({ maxLength: 8 }),
            fc.boolean(),
            (noise, before, after, valid) => {
              const payload = valid ? type.toBuffer(type.random()) : Buffer.from(noise)
              const big = Buffer.concat([before, payload, after])
              const alone = skip(payload, 0)
              expect(skip(big, before.length, before.length + payload.length)).toBe(
                alone < 0 ? -1 : alone + before.length,
              )
            },
          ),
          { numRuns: 1000, seed: 5 },
        )
      })

      it('never walks to the end of what avsc refuses or reads to another length', () => {
        const valid = Array.from({ length: 50 }, () => type.toBuffer(type.random()))
        const mutated = fc
          .tuple(
            fc.constantFrom(...valid),
            fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }),
            fc.nat(),
            fc.boolean(),
          )
          .map(([base, flips, cut, truncate]) => {
            const buf = Buffer.from(base)
            for (const [at, byte] of flips) if (buf.length > 0) buf[at % buf.length] = byte
            return truncate && buf.length > 0 ? buf.subarray(0, cut % buf.length) : buf
          })
        fc.assert(
          fc.property(
            fc.oneof(
              mutated,
              fc.uint8Array({ maxLength: 64 }).map((a) => Buffer.from(a)),
            ),
            (buf) => {
              if (skip(buf, 0) === buf.length) expect(avscVerdict(type, buf)).toBe(buf.length)
            },
          ),
          { numRuns: 5000, seed: 42 },
        )
      })
    })
  }

  it('enum and union indexes out of range, negative lengths and truncated values are not walked', () => {
    const type = avsc.Type.forSchema(SCHEMAS.order!)
    const skip = compileAvroSkip(type)!
    const valid = type.toBuffer({
      id: 'a',
      currency: 'USD',
      hash: Buffer.alloc(8),
      note: null,
      lines: [],
      tags: {},
    })
    expect(skip(valid, 0)).toBe(valid.length)
    const badEnum = Buffer.from(valid)
    badEnum[2] = 6 // index 3 of 3 symbols
    expect(skip(badEnum, 0)).toBe(-1)
    const badUnion = Buffer.from(valid)
    badUnion[11] = 4 // branch 2 of 2
    expect(skip(badUnion, 0)).toBe(-1)
    const negativeLength = Buffer.from(valid)
    negativeLength[0] = 1 // string length -1
    expect(skip(negativeLength, 0)).toBe(-1)
    expect(skip(valid.subarray(0, valid.length - 1), 0)).toBe(-1)
  })
})
