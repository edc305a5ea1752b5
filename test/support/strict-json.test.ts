import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { DuplicateKeyError, parseStrictJson, StrictJsonError } from './strict-json.js'

/** The strict parser every test sidecar's log lines go through (strict-log.ts): it must read JSON as JSON.parse does. */
describe('parseStrictJson', () => {
  it('reads any JSON value as JSON.parse does', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.constantFrom(undefined, 2), (value, indent) => {
        const text = JSON.stringify(value, null, indent)
        expect(parseStrictJson(text)).toEqual(JSON.parse(text))
      }),
      { numRuns: 500 },
    )
  })

  it('reads escapes, exponents and surrounding whitespace', () => {
    const text = ' {"a":"\\u00e9\\n\\"\\\\\\/","n":[-0.5e+3,0,1E2],"t":true,"f":false,"z":null,"o":{}} \n'
    expect(parseStrictJson(text)).toEqual(JSON.parse(text))
    expect(parseStrictJson('{"__proto__":{"polluted":1}}')).toEqual(JSON.parse('{"__proto__":{"polluted":1}}'))
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
  })

  it('rejects a name repeated in one object, saying which and where', () => {
    const line = '{"level":30,"clientId":"a","msg":"connection closed","clientId":"a"}'
    expect(JSON.parse(line)).toMatchObject({ clientId: 'a' }) // what lenient readers accept
    expect(() => parseStrictJson(line)).toThrow(new DuplicateKeyError('clientId', '$', line.lastIndexOf('"clientId"')))
    expect(() => parseStrictJson('{"err":{"type":"E","type":"F"}}')).toThrow(
      'duplicate key "type" in the object at $.err',
    )
    expect(() => parseStrictJson('[{"a":1},{"b":1,"b":2}]')).toThrow('in the object at $[1]')
    // The same name in different objects is fine.
    expect(parseStrictJson('{"a":{"a":1},"b":{"a":2}}')).toEqual({ a: { a: 1 }, b: { a: 2 } })
  })

  it('rejects what is not JSON', () => {
    for (const bad of ['', '{', '{"a":1,}', "{'a':1}", '{"a":01}', '"tab\there"', '[1] 2', 'NaN', '{"a":"\\x"}']) {
      expect(() => parseStrictJson(bad), bad).toThrow(StrictJsonError)
    }
  })
})
