import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { asciiMatcher } from '../../../filters/schema-validation/validators/ascii-regexp.js'
import { ajvFor } from '../../../filters/schema-validation/validators/json-schema.js'
import { Rng } from './json-skip-samples.js'

/**
 * The byte automaton for a RegExp (ascii-regexp.ts) must answer exactly as RegExp.prototype.test on every ASCII
 * string, for every pattern it takes; the ones it does not take it must refuse.
 */

const ATOMS = ['a', 'b', 'c', 'A', 'Z', '0', '9', '-', '.', '@', '/', ' ', '_', '~', '\\.', '\\-', '\\/', '\\$']
const CLASSES = [
  '[a-c]',
  '[^a-c]',
  '[A-Za-z]',
  '[0-9]',
  '[-a]',
  '[a-]',
  '[.]',
  '[\\]]',
  '[\\\\]',
  '[^]',
  '[]',
  '[$^|{}]',
]
const ESCAPES = ['\\d', '\\D', '\\w', '\\W', '\\s', '\\S', '\\t', '\\x41', '\\x7e', '\\u0061']
const QUANTIFIERS = ['', '', '', '*', '+', '?', '*?', '+?', '??', '{2}', '{0,2}', '{1,}', '{2,3}?', '{0}']

/** A random pattern of the shape the automaton takes: atoms, classes, escapes, groups, alternation, quantifiers. */
function randomPattern(r: Rng, depth = 0): string {
  const parts: string[] = []
  const length = 1 + r.int(4)
  for (let i = 0; i < length; i++) {
    let atom: string
    const kind = r.int(depth < 2 ? 5 : 3)
    if (kind === 0) atom = r.pick(ATOMS)
    else if (kind === 1) atom = r.pick(CLASSES)
    else if (kind === 2) atom = r.pick(ESCAPES)
    else
      atom = `(${r.chance(0.5) ? '?:' : ''}${randomPattern(r, depth + 1)}${r.chance(0.3) ? `|${randomPattern(r, depth + 1)}` : ''})`
    parts.push(atom + r.pick(QUANTIFIERS))
  }
  return parts.join('')
}

/** ASCII strings, mostly of the characters the patterns name, now and then any ASCII character at all. */
function randomText(r: Rng): string {
  const chars = 'abcAZ09-.@/ _~$^|{}]\\\tx'
  let s = ''
  const length = r.int(8)
  for (let i = 0; i < length; i++) s += r.chance(0.85) ? r.pick([...chars]) : String.fromCharCode(r.int(128))
  return s
}

const test = (m: NonNullable<ReturnType<typeof asciiMatcher>>, s: string) => {
  const bytes = Buffer.from(`<${s}>`, 'latin1')
  return m(bytes, 1, bytes.length - 1)
}

describe('asciiMatcher', () => {
  it('answers as RegExp.test on random patterns of its shape, anchored or not, with every flag it takes', () => {
    let taken = 0
    let matched = 0
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 0x7fffffff }), (seed) => {
        const r = new Rng(seed)
        const body = r.chance(0.2) ? `${randomPattern(r)}|${randomPattern(r)}` : randomPattern(r)
        const alternated = body.includes('|') && !body.startsWith('(')
        const start = !alternated && r.chance(0.6) ? '^' : ''
        const end = !alternated && r.chance(0.6) ? '$' : ''
        const source = `${start}${body}${end}`
        const flags = r.pick(['', 'u', 'i', 'iu', 's', 'su'])
        let re: RegExp
        try {
          re = new RegExp(source, flags)
        } catch {
          return // a pattern only one of the flag sets allows
        }
        const m = asciiMatcher(re.source, re.flags)
        if (m === undefined) return
        taken++
        for (let i = 0; i < 40; i++) {
          const s = randomText(r)
          const expected = re.test(s)
          if (expected) matched++
          expect(test(m, s), `/${source}/${flags} on ${JSON.stringify(s)}`).toBe(expected)
        }
      }),
      { numRuns: 1500, seed: 5 },
    )
    // Most are taken; the others are illegal with their flags, too large (MAX_STATES) or anchored on one branch.
    expect(taken).toBeGreaterThan(1000) // seed 5: 1125
    expect(matched).toBeGreaterThan(10_000) // seed 5: 15,023 of 45,000 strings
  })

  it("answers as the RegExp of every ajv-formats format that is one, on random text and on the format's own examples", () => {
    const ajv = ajvFor({})
    const examples = [
      'x@y.zz',
      'a.b+c@example.com',
      'A@B.C',
      'not an email',
      '2020-01-31',
      '10.0.0.1',
      '256.1.1.1',
      'example.com',
      '-bad.com',
      '123e4567-e89b-12d3-a456-426614174000',
      'urn:uuid:123e4567-e89b-12d3-a456-426614174000',
      'http://example.com/a?b#c',
      '/a/b~1c',
      '#/a',
      '1/a',
      'P1D',
      '{a}',
      '12:00:00Z',
      '',
    ]
    let taken = 0
    for (const [name, def] of Object.entries(ajv.formats)) {
      const re = def instanceof RegExp ? def : (def as { validate?: unknown }).validate
      if (!(re instanceof RegExp)) continue
      const m = asciiMatcher(re.source, re.flags)
      if (m === undefined) continue
      taken++
      const r = new Rng(name.length * 7919)
      for (const s of [...examples, ...Array.from({ length: 300 }, () => randomText(r))]) {
        expect(test(m, s), `${name} on ${JSON.stringify(s)}`).toBe(re.test(s))
      }
    }
    // email, hostname, uuid, ipv4, ... are of the shape taken.
    expect(taken).toBeGreaterThan(5)
  })

  it('takes the patterns of the bench schema and the email format', () => {
    const order = asciiMatcher('^order-[0-9]+$', 'u')!
    expect(test(order, 'order-12')).toBe(true)
    expect(test(order, 'order-')).toBe(false)
    expect(test(order, 'order-12x')).toBe(false)
    expect(test(order, 'xorder-1')).toBe(false)
    const email = ajvFor({}).formats.email as RegExp
    const m = asciiMatcher(email.source, email.flags)!
    expect(test(m, 'C1@Shop.Example')).toBe(true)
    expect(test(m, 'c1@shop')).toBe(false) // a dot in the domain is required
    expect(test(m, 'c1@@shop.example')).toBe(false)
  })

  it('refuses what is not a regular language of ASCII text, or that it does not read', () => {
    for (const [source, flags] of [
      ['(a)\\1', ''], // backreference
      ['a(?=b)', ''], // lookahead
      ['(?<=a)b', ''], // lookbehind
      ['(?<n>a)', ''], // named group
      ['\\bword\\b', ''], // word boundary
      ['a$|^b', ''], // anchors inside
      ['^a|b$', ''], // each anchor on one branch only
      ['a^b', ''],
      ['é+', 'u'], // non-ASCII pattern text
      ['\\p{L}', 'u'], // property escape
      ['a{2', ''], // a brace that is no quantifier
      ['a}', ''],
      ['a]', ''],
      ['\\x4', ''], // \x without its two digits
      ['\\cA', ''], // control escape
      ['a', 'g'], // test() with lastIndex
      ['a', 'y'],
      ['^a$', 'm'], // line anchors
      ['a{100}', ''], // more copies than MAX_REPEAT
    ] as const) {
      expect(asciiMatcher(source, flags), `/${source}/${flags}`).toBeUndefined()
    }
  })

  it('says no to a byte over 0x7f (not a character of ASCII text)', () => {
    const m = asciiMatcher('^[^a]*$', '')!
    expect(m(Buffer.from([0x62, 0xc3, 0xa9]), 0, 3)).toBe(false)
  })
})
