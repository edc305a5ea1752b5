/**
 * Random JSON Schemas over the keywords the JSON fast path knows, and documents for them written as JSON text in
 * the many ways RFC 8259 allows (whitespace, escapes, number spellings, duplicate keys, non-ASCII), for the property
 * test in json-skip.property.test.ts. Deterministic: everything comes from a seeded generator.
 */

/** A small seeded generator (a 32-bit xorshift): the same seed gives the same schemas and documents. */
export class Rng {
  private state: number
  constructor(seed: number) {
    this.state = seed >>> 0 || 0x9e3779b9
  }
  next(): number {
    let x = this.state
    x ^= x << 13
    x ^= x >>> 17
    x ^= x << 5
    this.state = x >>> 0
    return this.state / 0x1_0000_0000
  }
  int(n: number): number {
    return Math.floor(this.next() * n)
  }
  chance(p: number): boolean {
    return this.next() < p
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!
  }
}

// Names with quotes, controls, spaces, non-ASCII and the empty name: keys the walker must read exactly as JSON.parse.
const NAMES = ['a', 'ab', 'b', 'id', 'é', 'a"b', 'x y', '\u0007', '', 'ключ', '𝄞']
const STRINGS = ['', 'a', 'ab', 'abc', 'hello', 'é', '𝄞x', 'a"b', 'tab\there', 'a\\b', '\u0000', 'order-12', 'a/b']
const MORE_STRINGS = ['x@y.zz', 'not an email', '2020-01-31', '2020-13-01', '10.0.0.1', 'example.com', '\ud800']
const PATTERNS = ['^[a-z]+$', '^ab', 'é', '^.$', '^.{2,4}$', '\\d', '^order-[0-9]+$', '^\\p{L}+$']
const FORMATS = ['email', 'date', 'ipv4', 'hostname', 'uuid', 'password']
const NUMBERS = [-1, 0, 1, 2, 2.5, 10, 1000, -0.5, 1e21]
const PRIMITIVES = ['a', 'é', '𝄞', '', 'a"b', 1, 1.5, 0, -1, true, false, null]
const TYPES = ['string', 'integer', 'number', 'boolean', 'null', 'array', 'object']

type Schema = boolean | Record<string, unknown>

/** ajv refuses an enum with the same value twice. */
function unique(values: unknown[]): unknown[] {
  return [...new Set(values)]
}

export function randomSchema(r: Rng, depth = 0): Schema {
  const kind = r.int(depth >= 3 ? 9 : 13)
  const s: Record<string, unknown> = {}
  if (r.chance(0.1)) s.title = 'annotated'
  if (r.chance(0.05)) s.description = 'a description'
  switch (kind) {
    case 0:
    case 1:
      s.type = 'string'
      if (r.chance(0.3)) s.minLength = r.int(3)
      if (r.chance(0.3)) s.maxLength = 1 + r.int(6)
      if (r.chance(0.25)) s.pattern = r.pick(PATTERNS)
      if (r.chance(0.2)) s.format = r.pick(FORMATS)
      if (r.chance(0.1)) s.enum = unique([r.pick(STRINGS), r.pick(PRIMITIVES)])
      return s
    case 2:
    case 3:
      s.type = r.chance(0.5) ? 'integer' : 'number'
      for (const k of ['minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum']) {
        if (r.chance(0.2)) s[k] = r.pick(NUMBERS)
      }
      if (r.chance(0.1)) s.enum = unique([r.pick(NUMBERS), r.pick(PRIMITIVES)])
      return s
    case 4:
      return r.pick([{ type: 'boolean' }, { type: 'null' }, { const: r.pick(PRIMITIVES) }, { enum: PRIMITIVES }])
    case 5:
      s.type = unique([r.pick(TYPES), r.pick(TYPES)])
      if (r.chance(0.3)) s.maxLength = 2
      if (r.chance(0.3)) s.minimum = 0
      return s
    case 6:
      return r.pick<Schema>([true, false, {}, { $comment: 'nothing' }])
    case 7:
      return { enum: unique([r.pick(PRIMITIVES), r.pick(PRIMITIVES), r.pick(PRIMITIVES)]) }
    case 8:
      return { const: r.pick(PRIMITIVES), examples: [1] }
    case 9:
    case 10: {
      s.type = 'array'
      if (r.chance(0.8)) s.items = randomSchema(r, depth + 1)
      if (r.chance(0.3)) s.minItems = r.int(3)
      if (r.chance(0.3)) s.maxItems = r.int(4)
      return s
    }
    default: {
      if (r.chance(0.9)) s.type = 'object'
      const properties: Record<string, Schema> = {}
      for (let i = r.int(4); i > 0; i--) properties[r.pick(NAMES)] = randomSchema(r, depth + 1)
      s.properties = properties
      const required = Object.keys(properties).filter(() => r.chance(0.5))
      if (r.chance(0.2)) required.push(r.pick(NAMES))
      if (required.length > 0) s.required = [...new Set(required)]
      if (r.chance(0.5)) s.additionalProperties = r.chance(0.5) ? false : r.chance(0.5) ? true : randomSchema(r, 3)
      return s
    }
  }
}

/** A value that often (not always) meets the schema: the cases that pass are the ones the fast path must get right. */
export function sampleValue(schema: Schema, r: Rng): unknown {
  if (typeof schema === 'boolean' || r.chance(0.05)) return anyValue(r)
  if ('const' in schema) return schema.const
  if (Array.isArray(schema.enum)) return r.pick(schema.enum)
  const type = Array.isArray(schema.type) ? r.pick(schema.type as string[]) : (schema.type as string | undefined)
  switch (type) {
    case 'string':
      return r.pick(r.chance(0.7) ? STRINGS : MORE_STRINGS)
    case 'integer':
      return r.pick([0, 1, 2, 10, 1000, -1, 7])
    case 'number':
      return r.pick([0, 1, 2.5, 10, -0.5, 3.25, 1e21])
    case 'boolean':
      return r.chance(0.5)
    case 'null':
      return null
    case 'array': {
      const items = (schema.items ?? true) as Schema
      return Array.from({ length: r.int(4) }, () => sampleValue(items, r))
    }
    case 'object':
    case undefined: {
      const properties = (schema.properties ?? {}) as Record<string, Schema>
      const out: Record<string, unknown> = {}
      for (const [name, sub] of Object.entries(properties)) if (r.chance(0.8)) out[name] = sampleValue(sub, r)
      for (const name of (schema.required ?? []) as string[]) {
        // Now and then one is left out: documents that miss a required property.
        if (!(name in out) && !r.chance(0.05))
          out[name] = sampleValue((properties[name] ?? schema.additionalProperties ?? true) as Schema, r)
      }
      if (r.chance(0.2)) out[r.pick(NAMES)] = anyValue(r)
      return out
    }
    default:
      return anyValue(r)
  }
}

function anyValue(r: Rng): unknown {
  return r.pick<unknown>([...PRIMITIVES, [], {}, [1, 'a'], { a: 1 }, 2.5, 'é'])
}

/** Ways of writing a value as JSON text (RFC 8259): all give the same value to JSON.parse, but for duplicated keys. */
export interface Spelling {
  readonly space: boolean // whitespace between tokens
  readonly escapes: boolean // some characters as \uXXXX or short escapes
  readonly numbers: boolean // 1 as 1.0, 1e0, 10e-1; 0 as -0
  readonly duplicates: boolean // a key written twice, the first time with another value
}

export function writeJson(value: unknown, how: Spelling, r: Rng): string {
  const ws = () => (how.space && r.chance(0.3) ? r.pick([' ', '\n', '\t', '\r\n  ']) : '')
  const write = (v: unknown): string => {
    if (typeof v === 'string') return ws() + writeString(v, how.escapes, r) + ws()
    if (typeof v === 'number') return ws() + writeNumber(v, how.numbers, r) + ws()
    if (Array.isArray(v)) return `${ws()}[${v.map(write).join(',')}${v.length === 0 ? ws() : ''}]${ws()}`
    if (typeof v === 'object' && v !== null) {
      const members = Object.entries(v).map(([k, x]) => `${writeString(k, how.escapes, r)}${ws()}:${write(x)}`)
      const keys = Object.keys(v)
      if (how.duplicates && keys.length > 0 && r.chance(0.6)) {
        // A key twice: another value first, or another value last (the one JSON.parse keeps), or in place of another
        // key (which then is missing).
        const again = `${writeString(r.pick(keys), how.escapes, r)}:${write(anyValue(r))}`
        const way = r.int(3)
        if (way === 0) members.unshift(again)
        else if (way === 1) members.push(again)
        else
          members[r.int(members.length)] =
            `${writeString(r.pick(keys), how.escapes, r)}:${write(r.pick(Object.values(v)))}`
      }
      return `${ws()}{${members.join(',')}${members.length === 0 ? ws() : ''}}${ws()}`
    }
    return ws() + JSON.stringify(v) + ws()
  }
  return write(value)
}

function writeString(s: string, escapes: boolean, r: Rng): string {
  const plain = JSON.stringify(s)
  if (!escapes || !r.chance(0.5)) return plain
  let out = '"'
  // Code unit by code unit: an astral character may come out as a \u pair, or half escaped and half not.
  for (const unit of s.split('')) {
    const hex = unit.charCodeAt(0).toString(16).padStart(4, '0')
    if (r.chance(0.4)) out += `\\u${r.chance(0.5) ? hex : hex.toUpperCase()}`
    else if (unit === '/') out += '\\/'
    else out += JSON.stringify(unit).slice(1, -1)
  }
  return `${out}"`
}

function writeNumber(n: number, spell: boolean, r: Rng): string {
  if (!spell || !r.chance(0.5)) return JSON.stringify(n)
  if (n === 0) return r.pick(['-0', '0.0', '0e5', '-0.0E-0'])
  if (Number.isInteger(n) && Math.abs(n) < 1e15) return r.pick([`${n}.0`, `${n}e0`, `${n * 10}e-1`, `${n}E+0`])
  return JSON.stringify(n)
}

/** Byte-level damage: flips, cuts, insertions, ill-formed UTF-8, a BOM, huge or over-long numbers. */
export function damage(text: string, r: Rng): Buffer {
  let bytes = Buffer.from(text, 'utf8')
  const insert = (at: number, extra: Buffer) => Buffer.concat([bytes.subarray(0, at), extra, bytes.subarray(at)])
  for (let i = 1 + r.int(2); i > 0; i--) {
    const at = r.int(bytes.length + 1)
    switch (r.int(8)) {
      case 0:
        if (bytes.length > 0) bytes[Math.min(at, bytes.length - 1)] = r.int(256)
        break
      case 1:
        bytes = bytes.subarray(0, at)
        break
      case 2:
        bytes = insert(at, Buffer.from([r.pick([0xc0, 0x80, 0xed, 0xf4, 0xff, 0xc3, 0xe2])]))
        break
      case 3:
        bytes = insert(
          at,
          Buffer.from(
            r.pick([
              [0xed, 0xa0, 0x80],
              [0xc0, 0xaf],
              [0xf4, 0x90, 0x80, 0x80],
              [0xe2, 0x82],
            ]),
          ),
        )
        break
      case 4:
        bytes = insert(0, Buffer.from([0xef, 0xbb, 0xbf]))
        break
      case 5:
        bytes = insert(at, Buffer.from(r.pick(['1e400', '123456789012345678901234', '-', '01', '.5', '1.', '"', '\\'])))
        break
      case 6:
        bytes = insert(at, Buffer.from(r.pick([',', ':', '{', '}', '[', ']', ' ', '\u0001', 'null'])))
        break
      default:
        bytes = bytes.subarray(0, at) // a value cut short
    }
  }
  return bytes
}
