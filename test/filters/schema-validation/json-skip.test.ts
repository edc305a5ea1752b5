import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { AnySchema } from 'ajv'
import { afterAll, describe, expect, it } from 'vitest'
import { payloadFile, readPayloads } from '../../../bench/lib/payloads.js'
import { ajvFor, compileJsonSchema } from '../../../filters/schema-validation/validators/json-schema.js'
import { compileJsonSkip, type JsonSkip } from '../../../filters/schema-validation/validators/json-skip.js'
import { wholeWalk } from '../../../filters/schema-validation/validators/json-skip-code.js'
import { planJsonSchema } from '../../../filters/schema-validation/validators/json-skip-plan.js'

/** The fast path for a schema, built as json-schema.ts builds it, with ajv's own verdict on the same bytes. */
function both(schema: unknown): { skip: JsonSkip; ajv: (text: string | Buffer) => boolean | 'not JSON' } {
  const ajv = ajvFor(schema as AnySchema)
  const validate = ajv.compile(schema as AnySchema)
  const skip = compileJsonSkip(schema, ajv)
  if (skip === undefined) throw new Error(`no fast path for ${JSON.stringify(schema)}`)
  return {
    skip,
    ajv: (text) => {
      let doc: unknown
      try {
        doc = JSON.parse(Buffer.from(text).toString('utf8'))
      } catch {
        return 'not JSON'
      }
      return validate(doc) === true
    },
  }
}

const fast = (skip: JsonSkip, text: string | Buffer) => skip(Buffer.from(text))

describe('JSON fast path on the bench orders', () => {
  const dir = mkdtempSync(join(tmpdir(), 'json-skip-'))
  afterAll(() => rmSync(dir, { recursive: true, force: true }))
  const source = readFileSync('bench/configs/schema-validation/order.schema.json', 'utf8')

  for (const size of [160, 1024, 10_240]) {
    it(`recognises every ${size} B order of bench/lib/payloads.ts as valid without JSON.parse`, () => {
      const { skip, ajv } = both(JSON.parse(source))
      const schema = compileJsonSchema(source)
      const orders = readPayloads(payloadFile('json', size, dir))
      expect(orders).toHaveLength(256)
      for (const order of orders) {
        expect(skip(order)).toBe(true)
        expect(ajv(order)).toBe(true)
        expect(schema.check(order)).toBeUndefined()
      }
    })
  }

  it('leaves orders the schema refuses to ajv, whose words are the answer', () => {
    const schema = compileJsonSchema(source)
    const order = readPayloads(payloadFile('json', 1024, dir))[0]!.toString()
    expect(schema.check(Buffer.from(order.replace('"amount":1000', '"amount":-1')))).toBe('/amount must be >= 0')
    expect(schema.check(Buffer.from(order.replace('"EUR"', '"CHF"')))).toMatch(/^\/currency must be equal to one of/)
    expect(schema.check(Buffer.from(order.replace('order-0', 'order-x')))).toMatch(/^\/id must match pattern/)
    expect(schema.check(Buffer.from(order.replace('c0@shop.example', 'c0 at shop')))).toMatch(
      /must match format "email"/,
    )
    expect(schema.check(Buffer.from(order.slice(0, -1)))).toMatch(/^not JSON/)
  })
})

describe('JSON fast path: the tricky points, each answered soundly', () => {
  it('a duplicate of a named key is not certain (JSON.parse keeps the last); of an unnamed one, harmless', () => {
    const { skip, ajv } = both({ type: 'object', properties: { a: { type: 'integer' } } })
    expect(fast(skip, '{"a":1,"a":"x"}')).toBe(false)
    expect(ajv('{"a":1,"a":"x"}')).toBe(false)
    expect(fast(skip, '{"a":"x","a":1}')).toBe(false)
    expect(fast(skip, '{"b":1,"b":"x","a":2}')).toBe(true)
    expect(ajv('{"b":1,"b":"x","a":2}')).toBe(true)
  })

  it('keys with escapes are not certain (one may spell a named property)', () => {
    const { skip, ajv } = both({ type: 'object', properties: { a: { type: 'integer' } } })
    expect(fast(skip, '{"\\u0061":"x"}')).toBe(false)
    expect(ajv('{"\\u0061":"x"}')).toBe(false)
    expect(fast(skip, '{"é":1,"a":1}')).toBe(true)
  })

  it('a UTF-8 BOM, ill-formed UTF-8 and raw control characters are not certain', () => {
    const { skip, ajv } = both({ type: 'object' })
    const bom = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{}')])
    expect(skip(bom)).toBe(false)
    expect(ajv(bom)).toBe('not JSON')
    // Buffer#toString makes U+FFFD of these, which JSON.parse takes: not the bytes' string, so left to the slow path.
    for (const bad of [
      [0xc3, 0x28],
      [0xc0, 0xaf],
      [0xed, 0xa0, 0x80],
      [0xf4, 0x90, 0x80, 0x80],
      [0x80],
      [0xe2, 0x82],
    ]) {
      const payload = Buffer.concat([Buffer.from('{"s":"'), Buffer.from(bad), Buffer.from('"}')])
      expect(skip(payload)).toBe(false)
      expect(ajv(payload)).toBe(true)
    }
    expect(fast(skip, '{"s":"é𝄞€"}')).toBe(true)
    expect(fast(skip, '{"s":"a\u0001b"}')).toBe(false)
    expect(ajv('{"s":"a\u0001b"}')).toBe('not JSON')
  })

  it('whitespace: the four of RFC 8259 around any token and after the document, nothing else', () => {
    const { skip } = both({ type: 'object', properties: { a: { type: 'array' } } })
    expect(fast(skip, ' \t\r\n{ "a" : [ 1 , 2 ] } \n\t\r ')).toBe(true)
    expect(fast(skip, '{"a":[1]}x')).toBe(false)
    expect(fast(skip, '{"a":[1]}\u00a0')).toBe(false)
    expect(fast(skip, '{"a":[1]}\f')).toBe(false)
    expect(fast(skip, '{"a":[1,]}')).toBe(false)
    expect(fast(skip, '{"a":[1]} {}')).toBe(false)
    expect(fast(skip, '')).toBe(false)
  })

  it('numbers: the grammar of RFC 8259 exactly', () => {
    const { skip, ajv } = both({ type: 'number' })
    for (const good of [
      '0',
      '-0',
      '1',
      '-1',
      '0.5',
      '1e5',
      '1E+5',
      '1e-5',
      '-0.0e-0',
      '123.456e7',
      '12345678901234567890',
    ]) {
      expect(fast(skip, good), good).toBe(true)
      expect(ajv(good), good).toBe(true)
    }
    for (const bad of ['01', '-', '+1', '.5', '1.', '1e', '1e+', '0x10', 'NaN', 'Infinity', '-01', '1.e5', '--1']) {
      expect(fast(skip, bad), bad).toBe(false)
      expect(ajv(bad), bad).toBe('not JSON')
    }
    // More than 20 significant digits (conversions may round differently) and overflow are not certain.
    expect(fast(skip, '123456789012345678901')).toBe(false)
    expect(fast(skip, '1e400')).toBe(false)
    expect(fast(skip, '1e-400')).toBe(true)
  })

  it("integer is ajv's: a number with no fractional part, however it is written", () => {
    const { skip, ajv } = both({ type: 'integer', minimum: 0, maximum: 100 })
    for (const good of ['1.0', '1e2', '10e-1', '100', '-0', '0.0e5']) {
      expect(fast(skip, good), good).toBe(true)
      expect(ajv(good), good).toBe(true)
    }
    for (const bad of ['1.5', '1e-1', '101', '-1', '100.0001', '"1"']) {
      expect(fast(skip, bad), bad).toBe(false)
      expect(ajv(bad), bad).toBe(false)
    }
  })

  it('exclusive bounds, enum and const of numbers compare values, not spellings', () => {
    const { skip, ajv } = both({ exclusiveMinimum: 0, exclusiveMaximum: 10, enum: [1, 2.5, 'x'] })
    for (const good of ['1', '1.0', '0.1e1', '2.50', '"x"']) expect([fast(skip, good), ajv(good)]).toEqual([true, true])
    for (const bad of ['0', '3', '10', '"y"', 'null', '[1]']) expect(fast(skip, bad), bad).toBe(false)
  })

  it("minLength and maxLength count code points, escaped or not (ajv's ucs2length)", () => {
    const { skip, ajv } = both({ type: 'string', minLength: 2, maxLength: 2 })
    for (const good of ['"ab"', '"é𝄞"', '"\\ud834\\udd1e\\u00e9"', '"\\ud800x"', '"\\n\\t"', '"𝄞\\u0041"']) {
      expect(fast(skip, good), good).toBe(true)
      expect(ajv(good), good).toBe(true)
    }
    for (const bad of ['"a"', '"abc"', '"𝄞"', '"\\ud834\\udd1e"', '"é"']) {
      expect(fast(skip, bad), bad).toBe(false)
      expect(ajv(bad), bad).toBe(false)
    }
  })

  it('string escapes: the nine of RFC 8259, \\u with four hex digits of either case', () => {
    const { skip, ajv } = both({ type: 'string' })
    for (const good of ['"\\"\\\\\\/\\b\\f\\n\\r\\t"', '"\\u00E9\\u00e9"', '"\\ud800"']) {
      expect([fast(skip, good), ajv(good)]).toEqual([true, true])
    }
    for (const bad of ['"\\a"', '"\\u00e"', '"\\u00eg"', '"\\x41"', '"\\', '"abc', "'a'"]) {
      expect(fast(skip, bad), bad).toBe(false)
    }
  })

  it('pattern is tested as ajv tests it (new RegExp(pattern, "u")), on the decoded string', () => {
    const { skip, ajv } = both({ type: 'string', pattern: '^.$' })
    for (const good of ['"𝄞"', '"\\ud834\\udd1e"', '"é"', '"\\u0041"']) {
      expect([fast(skip, good), ajv(good)]).toEqual([true, true])
    }
    expect(fast(skip, '"ab"')).toBe(false)
    const letters = both({ type: 'string', pattern: '^\\p{L}+$' })
    expect([fast(letters.skip, '"héllo"'), letters.ajv('"héllo"')]).toEqual([true, true])
    expect(fast(letters.skip, '"h3llo"')).toBe(false)
  })

  it("format uses the ajv instance's own check (ajv-formats), and only on strings", () => {
    const { skip, ajv } = both({ format: 'email' })
    for (const good of ['"a@b.cc"', '"a\\u0040b.cc"', '12', 'null'])
      expect([fast(skip, good), ajv(good)]).toEqual([true, true])
    expect(fast(skip, '"not an email"')).toBe(false)
    const date = both({ type: 'string', format: 'date' })
    expect([fast(date.skip, '"2024-02-29"'), date.ajv('"2024-02-29"')]).toEqual([true, true])
    expect([fast(date.skip, '"2023-02-29"'), date.ajv('"2023-02-29"')]).toEqual([false, false])
  })

  it('required, additionalProperties false / true / a schema, items, minItems, maxItems', () => {
    const { skip, ajv } = both({
      type: 'object',
      properties: { a: { type: 'array', items: { type: 'string' }, minItems: 1, maxItems: 2 } },
      required: ['a', 'b'],
      additionalProperties: { type: 'integer' },
    })
    for (const good of ['{"a":["x"],"b":1}', '{"b":2,"a":["x","y"],"c":3}']) {
      expect([fast(skip, good), ajv(good)]).toEqual([true, true])
    }
    for (const bad of [
      '{"a":["x"]}',
      '{"a":[],"b":1}',
      '{"a":["x","y","z"],"b":1}',
      '{"a":[1],"b":1}',
      '{"a":["x"],"b":"1"}',
    ]) {
      expect([fast(skip, bad), ajv(bad)]).toEqual([false, false])
    }
    const closed = both({ type: 'object', properties: { a: true }, additionalProperties: false })
    expect([fast(closed.skip, '{"a":{"deep":[1,{"x":null}]}}'), closed.ajv('{"a":{"deep":[1,{"x":null}]}}')]).toEqual([
      true,
      true,
    ])
    expect(fast(closed.skip, '{"b":1}')).toBe(false)
  })

  it('boolean schemas, multiple types, null and booleans', () => {
    expect(fast(both(true).skip, '[1,{"a":"b"},null]')).toBe(true)
    expect(fast(both(false).skip, '1')).toBe(false)
    const { skip, ajv } = both({ type: ['string', 'null', 'boolean'], const: null })
    expect([fast(skip, 'null'), ajv('null')]).toEqual([true, true])
    expect(fast(skip, 'true')).toBe(false)
    expect(fast(skip, 'nul')).toBe(false)
    expect(fast(skip, 'True')).toBe(false)
  })

  it('nesting deeper than the walk goes is left to JSON.parse', () => {
    const { skip, ajv } = both(true)
    const deep = `${'['.repeat(300)}${']'.repeat(300)}`
    expect(fast(skip, deep)).toBe(false)
    expect(ajv(deep)).toBe(true)
    expect(fast(skip, `${'['.repeat(100)}${']'.repeat(100)}`)).toBe(true)
  })

  it('takes a plain Uint8Array as well as a Buffer', () => {
    const { skip } = both({ type: 'object', properties: { s: { type: 'string', pattern: '^é$' } } })
    expect(skip(new TextEncoder().encode('{"s":"é"}'))).toBe(true)
  })

  it('reads a payload in place up to its end and never past it (the next record may look like its continuation)', () => {
    const { skip } = both({
      type: 'object',
      required: ['n'],
      properties: { n: { type: 'integer', maximum: 9 }, s: { type: 'string' }, t: { type: 'boolean' } },
    })
    const at = (before: string, payload: string, after: string) =>
      skip(Buffer.from(before + payload + after, 'utf8'), before.length, before.length + payload.length)
    expect(at('xx', '{"n":1}', '{"n":99}')).toBe(true)
    expect(at('', ' {"n":1} ', '\x00')).toBe(true)
    // Each cut short: the bytes after the end would complete it, and are not the payload's.
    expect(at('xx', '{"n":1', '}')).toBe(false)
    expect(at('xx', '{"n":1,"s":"a', '"}')).toBe(false)
    expect(at('xx', '{"n":1,"t":tr', 'ue}')).toBe(false)
    expect(at('xx', '{"n":1,"', 's":"a"}')).toBe(false)
    expect(at('xx', '{"n":1}', '')).toBe(true)
    // A digit after the end would make the number 10, over the maximum; read alone it is 1, valid.
    expect(at('', '{"n":1}', '0')).toBe(true)
    expect(at('{"n":', '1', '0}')).toBe(false) // not an object at all
    // Bounds outside the buffer are not certain.
    expect(skip(Buffer.from('{"n":1}'), 0, 99)).toBe(false)
    expect(skip(Buffer.from('{"n":1}'), 3, 2)).toBe(false)
  })

  it('long strings, read a word at a time: every byte that needs a look is found at every position', () => {
    const { skip, ajv } = both({ type: 'object', properties: { s: { type: 'string' } } })
    // Bytes at the edges of what a string may hold as it is: controls, '"', '\\', DEL (plain), non-ASCII.
    const specials = [0x00, 0x01, 0x1f, 0x20, 0x21, 0x22, 0x23, 0x5b, 0x5c, 0x5d, 0x7e, 0x7f, 0x80, 0xc3, 0xff]
    for (let length = 1; length <= 24; length++) {
      for (let at = 0; at < length; at++) {
        for (const b of specials) {
          const bytes = Buffer.alloc(length, 0x61)
          bytes[at] = b
          const payload = Buffer.concat([Buffer.from('{"s":"'), bytes, Buffer.from('"}')])
          const verdict = ajv(payload)
          const fastVerdict = skip(payload)
          if (fastVerdict) expect(verdict, `${length} ${at} ${b}`).toBe(true)
          // ASCII without escapes is always recognised; what JSON.parse refuses never is.
          if (b >= 0x20 && b < 0x80 && b !== 0x22 && b !== 0x5c) expect(fastVerdict, `${length} ${at} ${b}`).toBe(true)
          if (verdict === 'not JSON') expect(fastVerdict, `${length} ${at} ${b}`).toBe(false)
        }
      }
    }
  })

  it('object names: one a prefix of another, several with the same first byte, the empty name', () => {
    const { skip, ajv } = both({
      type: 'object',
      required: ['a', 'ab', ''],
      additionalProperties: { type: 'string' },
      properties: { a: { type: 'integer' }, ab: { type: 'boolean' }, abc: { type: 'null' }, '': { const: 1 } },
    })
    const cases = [
      '{"a":1,"ab":true,"":1}',
      '{"ab":true,"a":1,"":1}',
      '{"":1,"abc":null,"ab":false,"a":2}',
      '{"a":1,"ab":1,"":1}',
      '{"a":true,"ab":true,"":1}',
      '{"a":1,"ab":true,"":2}',
      '{"a":1,"ab":true}',
      '{"a":1,"ab":true,"":1,"abcd":"x"}',
      '{"a":1,"ab":true,"":1,"abcd":3}',
      '{"a":1,"ab":true,"":1,"a":1}',
      '{"a":1,"ab":true,"":1,"b":"x","b":"y"}',
      '{"a" : 1 , "ab" : true , "" : 1 }',
    ]
    // Sound: whatever it calls valid, ajv accepts; and it recognises the plainly valid ones.
    for (const text of cases) if (fast(skip, text)) expect(ajv(text), text).toBe(true)
    const recognised = cases.filter((text) => fast(skip, text))
    expect(recognised).toEqual([cases[0], cases[1], cases[2], cases[7], cases[10], cases[11]])
  })

  it('an object with more named properties than get generated code is walked by the generic step, as soundly', () => {
    const names = Array.from({ length: 300 }, (_, i) => `p${i}`)
    const { skip, ajv } = both({
      type: 'object',
      required: ['p7', 'p299'],
      additionalProperties: false,
      properties: Object.fromEntries(names.map((n) => [n, { type: 'integer', minimum: 0 }])),
    })
    const cases = [
      JSON.stringify(Object.fromEntries(names.map((n, i) => [n, i]))),
      '{"p299":1,"p7":0}',
      '{"p299":1}',
      '{"p299":1,"p7":-1}',
      '{"p299":1,"p7":0,"q":0}',
      '{"p299":1,"p7":0,"p7":0}',
    ]
    for (const text of cases) if (fast(skip, text)) expect(ajv(text), text.slice(0, 40)).toBe(true)
    // A named key seen twice is not certain (JSON.parse keeps the last), though ajv accepts this one.
    expect(cases.map((text) => fast(skip, text))).toEqual([true, true, false, false, false, false])
  })

  it('CompiledSchema.validAt: the bench orders where they lie in one buffer, no view made for them', () => {
    const source = readFileSync('bench/configs/schema-validation/order.schema.json', 'utf8')
    const schema = compileJsonSchema(source)
    const dir = mkdtempSync(join(tmpdir(), 'json-skip-'))
    try {
      const orders = readPayloads(payloadFile('json', 1024, dir)).slice(0, 32)
      const joined = Buffer.concat(orders)
      let start = 0
      for (const order of orders) {
        expect(schema.validAt!(joined, start, start + order.length)).toBe(true)
        // One byte short of its end (the closing brace) it is not valid, though the brace is right there.
        expect(schema.validAt!(joined, start, start + order.length - 1)).toBe(false)
        start += order.length
      }
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})

describe("JSON fast path: schemas it does not take are ajv's alone", () => {
  const unsupported: Record<string, unknown> = {
    $ref: { $ref: '#/definitions/x', definitions: { x: { type: 'string' } } },
    oneOf: { oneOf: [{ type: 'string' }, { type: 'integer' }] },
    anyOf: { properties: { a: { anyOf: [{ type: 'string' }] } } },
    allOf: { allOf: [{ type: 'string' }] },
    not: { not: { type: 'string' } },
    // biome-ignore lint/suspicious/noThenProperty: JSON Schema's if/then keywords, never awaited
    ifThen: { if: { type: 'string' }, then: { minLength: 1 } },
    patternProperties: { patternProperties: { '^a': { type: 'string' } } },
    dependencies: { dependencies: { a: ['b'] } },
    unevaluated: { $schema: 'https://json-schema.org/draft/2020-12/schema', unevaluatedProperties: false },
    prefixItems: { $schema: 'https://json-schema.org/draft/2020-12/schema', prefixItems: [{ type: 'string' }] },
    tupleItems: { items: [{ type: 'string' }] },
    unknownFormat: { type: 'string', format: 'no-such-format' },
    numberFormat: { type: 'number', format: 'int32' },
    multipleOf: { multipleOf: 2 },
    uniqueItems: { uniqueItems: true },
    objectEnum: { enum: [{ a: 1 }] },
    extension: { type: 'string', 'x-kind': 'id' },
  }
  for (const [name, schema] of Object.entries(unsupported)) {
    it(name, () => {
      const ajv = ajvFor(schema as AnySchema)
      ajv.compile(schema as AnySchema)
      expect(compileJsonSkip(schema, ajv)).toBeUndefined()
    })
  }

  it('names of Object.prototype members: ajv reads them through the prototype, so the bytes do not decide', () => {
    const schema = { type: 'object', properties: { constructor: { type: 'string' } } }
    const ajv = ajvFor(schema)
    // {} has no "constructor" key, yet ajv checks Object's constructor function against type string and refuses.
    expect(ajv.compile(schema)({})).toBe(false)
    expect(compileJsonSkip(schema, ajv)).toBeUndefined()
    const required = { required: ['toString'] }
    expect(compileJsonSkip(required, ajvFor(required))).toBeUndefined()
  })

  it('a JSON Schema without a fast path still checks records with ajv', () => {
    const schema = compileJsonSchema(JSON.stringify({ oneOf: [{ type: 'string' }, { type: 'integer' }] }))
    expect(schema.check(Buffer.from('"a"'))).toBeUndefined()
    expect(schema.check(Buffer.from('1.5'))).toBe('/ must be string') // ajv's first error (allErrors: false)
  })
})

describe('JSON fast path on a schema too large for one generated function', () => {
  it('walks it by steps (json-skip-code.ts MAX_CODE), with the verdicts of ajv', () => {
    // 150 arrays of objects: the whole walk's code would pass MAX_CODE (about 80 of them do).
    const line = {
      type: 'object',
      properties: { a: { type: 'string', maxLength: 3 }, b: { type: 'integer', minimum: 0 }, c: { type: 'boolean' } },
    }
    const properties = Object.fromEntries(
      Array.from({ length: 150 }, (_, i) => [`p${i}`, { type: 'array', items: line }]),
    )
    const schema = { type: 'object', properties, required: ['p0', 'p149'] }
    expect(wholeWalk(planJsonSchema(schema, ajvFor(schema))!)).toBeUndefined()
    const { skip, ajv } = both(schema)
    for (const text of [
      '{"p0":[],"p149":[{"a":"ab","b":1,"c":true}]}',
      '{"p0":[{"a":"abc"}],"p75":[{"b":0},{"c":false}],"p149":[]}',
      '{"p0":[{"a":"abcd"}],"p149":[]}',
      '{"p0":[{"b":-1}],"p149":[]}',
      '{"p0":[]}',
      '{"p0":[],"p149":[],"other":[1,{"x":null}]}',
      '{"p0":[],"p149":[{"c":1}]}',
    ]) {
      expect(fast(skip, text), text).toBe(ajv(text) === true)
    }
  })
})
