import type { AnySchema } from 'ajv'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { ajvFor, compileJsonSchema } from '../../../filters/schema-validation/validators/json-schema.js'
import { compileJsonSkip } from '../../../filters/schema-validation/validators/json-skip.js'
import { damage, Rng, randomSchema, type Spelling, sampleValue, writeJson } from './json-skip-samples.js'

/**
 * The JSON fast path (json-skip.ts) may only ever say "valid" when JSON.parse(payload.toString('utf8')) succeeds and
 * ajv, compiled the way json-schema.ts compiles it, accepts the result. Random schemas over the keywords it knows,
 * random documents for them spelled every way JSON allows, then damaged byte-wise: whatever it calls valid, the slow
 * path must too. It must also say "valid" often, or the property would hold trivially.
 */
function slowVerdict(validate: (doc: unknown) => boolean, payload: Buffer): 'not JSON' | boolean {
  let doc: unknown
  try {
    doc = JSON.parse(payload.toString('utf8'))
  } catch {
    return 'not JSON'
  }
  return validate(doc)
}

const SPELLINGS: readonly Spelling[] = [
  { space: false, escapes: false, numbers: false, duplicates: false },
  { space: true, escapes: false, numbers: false, duplicates: false },
  { space: false, escapes: true, numbers: true, duplicates: false },
  { space: true, escapes: true, numbers: true, duplicates: true },
]

/** Both walks json-skip.ts can make: the whole schema as one function (the usual) and a step per subschema. */
const WALKS = ['whole', 'steps'] as const

describe.each(WALKS)('JSON fast path (%s walk): whatever it calls valid, JSON.parse and ajv accept', (walk) => {
  it('random schemas, random documents in every spelling, damaged ones', () => {
    let fastValid = 0
    let slowValidPlain = 0
    let fastValidPlain = 0
    let planned = 0
    // One instance for all (the schemas have no $schema: the draft-07 class, json-schema.ts's options and formats).
    const ajv = ajvFor({})
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 0x7fffffff }), (seed) => {
        const r = new Rng(seed)
        const schema = randomSchema(r)
        const validate = ajv.compile(schema as AnySchema)
        const skip = compileJsonSkip(schema, ajv, walk)
        expect(skip).toBeDefined() // every keyword the generator uses is one the fast path knows
        planned++
        for (let i = 0; i < 8; i++) {
          const value = sampleValue(schema, r)
          for (const how of SPELLINGS) {
            const text = writeJson(value, how, r)
            const payloads = [Buffer.from(text, 'utf8'), damage(text, r), damage(text, r)]
            for (const payload of payloads) {
              const fast = skip!(payload)
              if (fast) {
                fastValid++
                expect(slowVerdict(validate, payload), `${JSON.stringify(schema)}\n${payload.toString()}`).toBe(true)
              }
            }
            // Plainly written valid documents are what the fast path is for: count how many it recognises.
            if (how === SPELLINGS[0] && slowVerdict(validate, payloads[0]!) === true) {
              slowValidPlain++
              if (skip!(payloads[0]!)) fastValidPlain++
            }
          }
        }
      }),
      { numRuns: 3000, seed: 42 },
    )
    expect(planned).toBe(3000)
    expect(fastValid).toBeGreaterThan(50_000) // of 288,000 payloads (seed 42: about 69,500)
    // Written plainly, only keys JSON.stringify escapes ('a"b', '\u0007') are left out (seed 42: 97%).
    expect(fastValidPlain / slowValidPlain).toBeGreaterThan(0.9)
  })
})

/**
 * Bytes that could seem to continue a payload if the walk read past its end: a digit or exponent after a number, a
 * quote or closing bracket after a cut string or object, more text after a cut literal, or noise.
 */
const NEIGHBOURS: readonly string[] = [
  '',
  '0',
  '7',
  'e5',
  '.5',
  '"',
  '}',
  ']',
  '"}',
  ']}',
  ' ',
  ',1]',
  'ue',
  'l',
  '\\',
  '{"a":1}',
]

/** The payload at `start` of a larger buffer: bytes before it and one of NEIGHBOURS (or noise) after it. */
function inside(payload: Buffer, r: Rng): { buf: Buffer; start: number; end: number } {
  const before = Buffer.from(Array.from({ length: r.int(9) }, () => r.int(256)))
  const after = r.chance(0.2)
    ? Buffer.from(Array.from({ length: 1 + r.int(8) }, () => r.int(256)))
    : Buffer.from(r.pick(NEIGHBOURS), 'utf8')
  return { buf: Buffer.concat([before, payload, after]), start: before.length, end: before.length + payload.length }
}

describe.each(
  WALKS,
)('JSON fast path in place (%s walk): a payload inside a larger buffer gets the verdict it gets alone', (walk) => {
  it('random schemas and documents, cut and damaged, between random bytes', () => {
    let compared = 0
    let validInPlace = 0
    const ajv = ajvFor({})
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 0x7fffffff }), (seed) => {
        const r = new Rng(seed)
        const schema = randomSchema(r)
        const skip = compileJsonSkip(schema, ajv, walk)!
        for (let i = 0; i < 6; i++) {
          const text = writeJson(sampleValue(schema, r), r.pick(SPELLINGS), r)
          const whole = Buffer.from(text, 'utf8')
          // Cut payloads are where reading on into the neighbour's bytes would change the verdict.
          const cut = whole.subarray(0, r.int(whole.length + 1))
          for (const payload of [whole, cut, damage(text, r)]) {
            const { buf, start, end } = inside(payload, r)
            const alone = skip(payload)
            const inPlace = skip(buf, start, end)
            compared++
            if (inPlace) validInPlace++
            expect(
              inPlace,
              `${JSON.stringify(schema)}\n${JSON.stringify(buf.toString('latin1'))} [${start}, ${end})`,
            ).toBe(alone)
          }
        }
      }),
      { numRuns: 3000, seed: 7 },
    )
    expect(compared).toBe(54_000)
    expect(validInPlace).toBeGreaterThan(10_000) // the property must not hold by saying "no" everywhere
  })
})

describe('CompiledSchema.validAt in place', () => {
  it('CompiledSchema.validAt says valid only where check() on the view says so, and as often as the view', () => {
    let valid = 0
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 0x7fffffff }), (seed) => {
        const r = new Rng(seed)
        const schema = randomSchema(r)
        const compiled = compileJsonSchema(JSON.stringify(schema))
        for (let i = 0; i < 6; i++) {
          const text = writeJson(sampleValue(schema, r), r.pick(SPELLINGS), r)
          const whole = Buffer.from(text, 'utf8')
          for (const payload of [whole, whole.subarray(0, r.int(whole.length + 1)), damage(text, r)]) {
            const { buf, start, end } = inside(payload, r)
            const view = buf.subarray(start, end)
            const inPlace = compiled.validAt!(buf, start, end)
            expect(inPlace).toBe(compiled.validAt!(view, 0, view.length))
            if (inPlace) {
              valid++
              expect(compiled.check(view), `${JSON.stringify(schema)}\n${view.toString()}`).toBeUndefined()
            }
          }
        }
      }),
      { numRuns: 300, seed: 11 },
    )
    expect(valid).toBeGreaterThan(1000)
  })
})

describe('JSON fast path: the whole-schema walk and the step walk give the same verdicts', () => {
  it('random schemas, random documents in every spelling, damaged and cut ones', () => {
    let compared = 0
    let valid = 0
    const ajv = ajvFor({})
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 0x7fffffff }), (seed) => {
        const r = new Rng(seed)
        const schema = randomSchema(r)
        const whole = compileJsonSkip(schema, ajv, 'whole')!
        const steps = compileJsonSkip(schema, ajv, 'steps')!
        for (let i = 0; i < 6; i++) {
          const text = writeJson(sampleValue(schema, r), r.pick(SPELLINGS), r)
          const bytes = Buffer.from(text, 'utf8')
          for (const payload of [bytes, bytes.subarray(0, r.int(bytes.length + 1)), damage(text, r)]) {
            const verdict = whole(payload)
            compared++
            if (verdict) valid++
            expect(verdict, `${JSON.stringify(schema)}\n${JSON.stringify(payload.toString('latin1'))}`).toBe(
              steps(payload),
            )
          }
        }
      }),
      { numRuns: 2000, seed: 23 },
    )
    expect(compared).toBe(36_000)
    expect(valid).toBeGreaterThan(8000)
  })
})
