import { type AsciiMatcher, asciiMatcher } from './ascii-regexp.js'

/**
 * A JSON Schema turned into what the fast path checks (json-skip.ts): for each subschema, the keywords it knows, read
 * as the JSON Schema validation vocabulary defines them (draft-07: draft-handrews-json-schema-validation-01,
 * https://json-schema.org/draft-07/json-schema-validation.html; 2019-09 and 2020-12 say the same of the keywords kept
 * here) and as ajv implements them. A schema with any other keyword anywhere ($ref, allOf/anyOf/oneOf/not, if,
 * patternProperties, dependencies, unevaluated*, prefixItems, multipleOf, uniqueItems, a format the ajv instance does
 * not know, ...) has no plan: ajv alone checks it.
 */

/** Instance types (JSON Schema core, "Instance Data Model"); integer is a number with no fractional part. */
export const T_NULL = 1
export const T_BOOLEAN = 2
export const T_INTEGER = 4
export const T_NUMBER = 8
export const T_STRING = 16
export const T_ARRAY = 32
export const T_OBJECT = 64
const ALL_TYPES = 127
const TYPE_BITS: Record<string, number> = {
  null: T_NULL,
  boolean: T_BOOLEAN,
  // "number" admits integers too: ajv's type check for number is typeof == "number".
  number: T_NUMBER | T_INTEGER,
  integer: T_INTEGER,
  string: T_STRING,
  array: T_ARRAY,
  object: T_OBJECT,
}

export type Primitive = string | number | boolean | null

/** A property the plan knows by name (in `properties`, or only in `required`). */
export interface NamedProperty {
  readonly name: Uint8Array // its UTF-8 bytes, compared with a key's bytes (keys with escapes are not certain)
  readonly node: PlanNode
  readonly required: boolean
}

/** A pattern or format: the test on a string's value, and the same test on ASCII bytes when it can run on them. */
export interface StringTest {
  readonly test: (s: string) => boolean
  readonly ascii: AsciiMatcher | undefined
}

export interface PlanNode {
  /** The boolean schema false: nothing is valid (ajv says why). */
  readonly never: boolean
  /** No constraint at all (true, {} or annotations only): the value only has to parse. */
  readonly any: boolean
  readonly types: number
  /** enum and const: the value must equal one in every list (ajv compares primitives with ===). */
  readonly choices: readonly (readonly Primitive[])[]
  readonly minimum: number
  readonly maximum: number
  readonly exclusiveMinimum: number
  readonly exclusiveMaximum: number
  readonly minLength: number
  readonly maxLength: number
  /** pattern and format: tests on the string's value. */
  readonly stringTests: readonly StringTest[]
  readonly items: PlanNode | undefined
  readonly minItems: number
  readonly maxItems: number
  readonly named: readonly NamedProperty[]
  readonly requiredCount: number
  /** additionalProperties; undefined: any value. */
  readonly additional: PlanNode | undefined
}

/** What the plan needs of the ajv instance that compiled the schema: its options and its formats. */
export interface AjvParts {
  readonly opts: {
    readonly unicodeRegExp?: boolean
    readonly validateFormats?: boolean
    readonly code: { readonly regExp: (pattern: string, flags: string) => { test(s: string): boolean } }
  }
  readonly formats: Record<string, unknown>
}

class NoPlan extends Error {}

/** The plan for a parsed schema, or undefined when it uses anything the fast path does not check. */
export function planJsonSchema(schema: unknown, ajv: AjvParts): PlanNode | undefined {
  try {
    return plan(schema, ajv)
  } catch (err) {
    if (err instanceof NoPlan) return undefined
    throw err
  }
}

/** Keywords with no effect on validity (JSON Schema validation, "Annotations"; core: $schema, $id, $comment). */
const ANNOTATIONS = new Set(['title', 'description', '$schema', '$id', 'default', 'examples', '$comment'])

const ANY: PlanNode = node({ any: true })
const NEVER: PlanNode = node({ never: true })

function node(parts: Partial<PlanNode>): PlanNode {
  return {
    never: false,
    any: false,
    types: ALL_TYPES,
    choices: [],
    minimum: -Infinity,
    maximum: Infinity,
    exclusiveMinimum: -Infinity,
    exclusiveMaximum: Infinity,
    minLength: 0,
    maxLength: Infinity,
    stringTests: [],
    items: undefined,
    minItems: 0,
    maxItems: Infinity,
    named: [],
    requiredCount: 0,
    additional: undefined,
    ...parts,
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

function finite(v: unknown): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new NoPlan()
  return v
}

function count(v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw new NoPlan()
  return v
}

function primitive(v: unknown): Primitive {
  if (v === null || typeof v === 'string' || typeof v === 'boolean') return v
  if (typeof v === 'number' && Number.isFinite(v)) return v
  throw new NoPlan()
}

/**
 * A property name ajv would not read as the JSON text says: ajv tests presence with `data[name] !== undefined`, which
 * finds Object.prototype's members (toString, constructor, __proto__, ...) on every object, and it drops __proto__
 * from `properties`. Schemas naming one are left to ajv.
 */
function plainName(name: string): string {
  if (name in Object.prototype) throw new NoPlan()
  return name
}

function plan(schema: unknown, ajv: AjvParts): PlanNode {
  if (schema === true) return ANY
  if (schema === false) return NEVER
  if (!isObject(schema)) throw new NoPlan()
  const parts: { -readonly [K in keyof PlanNode]?: PlanNode[K] } = {}
  const choices: Primitive[][] = []
  const stringTests: StringTest[] = []
  let properties: Record<string, unknown> = {}
  let required: string[] = []
  let constraints = false
  for (const [keyword, value] of Object.entries(schema)) {
    if (ANNOTATIONS.has(keyword)) continue
    constraints = true
    switch (keyword) {
      case 'type': {
        const names = Array.isArray(value) ? value : [value]
        if (names.length === 0) throw new NoPlan()
        parts.types = 0
        for (const t of names) {
          const bits = typeof t === 'string' ? TYPE_BITS[t] : undefined
          if (bits === undefined || !Object.hasOwn(TYPE_BITS, t as string)) throw new NoPlan()
          parts.types |= bits
        }
        break
      }
      case 'enum':
        if (!Array.isArray(value) || value.length === 0) throw new NoPlan()
        choices.push(value.map(primitive))
        break
      case 'const':
        choices.push([primitive(value)])
        break
      case 'minimum':
      case 'maximum':
      case 'exclusiveMinimum':
      case 'exclusiveMaximum':
        parts[keyword] = finite(value)
        break
      case 'minLength':
      case 'maxLength':
      case 'minItems':
      case 'maxItems':
        parts[keyword] = count(value)
        break
      case 'pattern': {
        if (typeof value !== 'string') throw new NoPlan()
        // The very RegExp ajv makes for it (vocabularies/code.ts usePattern: opts.code.regExp with "u" when
        // unicodeRegExp), tested the way ajv does: regexp.test(string).
        const regExp = ajv.opts.code.regExp(value, ajv.opts.unicodeRegExp === false ? '' : 'u')
        stringTests.push({ test: (s) => regExp.test(s), ascii: regExpOnBytes(regExp) })
        break
      }
      case 'format': {
        if (typeof value !== 'string') throw new NoPlan()
        const test = formatTest(value, ajv)
        if (test !== undefined) stringTests.push(test)
        break
      }
      case 'items':
        if (Array.isArray(value)) throw new NoPlan() // the tuple form
        parts.items = plan(value, ajv)
        break
      case 'properties':
        if (!isObject(value)) throw new NoPlan()
        properties = value
        break
      case 'required':
        if (!Array.isArray(value) || !value.every((r) => typeof r === 'string')) throw new NoPlan()
        required = value
        break
      case 'additionalProperties':
        parts.additional = plan(value, ajv)
        break
      default:
        throw new NoPlan()
    }
  }
  if (!constraints) return ANY
  const named = new Map<string, { node: PlanNode; required: boolean }>()
  for (const [name, sub] of Object.entries(properties))
    named.set(plainName(name), { node: plan(sub, ajv), required: false })
  // A required name absent from properties is still an additional property: its value meets additionalProperties.
  const additional = parts.additional ?? ANY
  for (const name of required) {
    const known = named.get(plainName(name))
    named.set(name, { node: known?.node ?? additional, required: true })
  }
  parts.named = [...named].map(([name, p]) => ({ name: Buffer.from(name, 'utf8'), node: p.node, required: p.required }))
  parts.requiredCount = parts.named.filter((p) => p.required).length
  parts.choices = choices
  parts.stringTests = stringTests
  return node(parts)
}

/**
 * The ajv instance's own check for a format on strings (vocabularies/format/format.ts: a RegExp is tested, a
 * function called, an object's `validate` used for its `type`, "string" when absent; `true` checks nothing).
 * Formats it does not know, asynchronous ones and those for numbers leave the schema to ajv.
 */
function formatTest(name: string, ajv: AjvParts): StringTest | undefined {
  if (ajv.opts.validateFormats === false) return undefined
  const def = Object.hasOwn(ajv.formats, name) ? ajv.formats[name] : undefined
  if (def === true) return undefined
  let check: unknown = def
  if (isObject(def) && !(def instanceof RegExp)) {
    if (def.async === true || (def.type !== undefined && def.type !== 'string')) throw new NoPlan()
    check = def.validate
  }
  if (check instanceof RegExp) return { test: (s) => check.test(s), ascii: regExpOnBytes(check) }
  if (typeof check === 'function')
    return { test: (s) => (check as (s: string) => boolean)(s) === true, ascii: undefined }
  throw new NoPlan()
}

/** The RegExp's test on ASCII bytes (ascii-regexp.ts), for a real RegExp (ajv's code.regExp option may make another). */
function regExpOnBytes(regExp: unknown): AsciiMatcher | undefined {
  return regExp instanceof RegExp ? asciiMatcher(regExp.source, regExp.flags) : undefined
}

/** enum and const (JSON Schema validation 6.1.2, 6.1.3): ajv compares a primitive with ===. */
export function allowed(node: PlanNode, value: Primitive): boolean {
  const choices = node.choices
  for (let i = 0; i < choices.length; i++) if (!choices[i]!.includes(value)) return false
  return true
}
