import ucs2lengthModule from 'ajv/dist/runtime/ucs2length.js'
import type { AsciiMatcher } from './ascii-regexp.js'
import { stringEscaped, stringNonAscii, stringValue } from './json-skip-lexer.js'
import { allowed, type PlanNode } from './json-skip-plan.js'

// ajv's CommonJS runtime helper: module.exports.default is the function; NodeNext may hand over the module object.
const ucs2length = ((ucs2lengthModule as unknown as { default?: unknown }).default ?? ucs2lengthModule) as (
  s: string,
) => number

/**
 * A string subschema's checks on the string token `buf[start, end)` (quotes included) that has just been read:
 * `plain` when it is known to be ASCII without escapes, else the lexer's flags of the scanString call that read it
 * say what it holds. minLength and maxLength count code points (6.3.1, 6.3.2; ajv's ucs2length, a surrogate pair
 * being one), enum and const compare (6.1.2, 6.1.3), pattern (6.3.3) and format (7) test the value, which is decoded
 * only when one of them needs it.
 */
export type StringChecks = (buf: Buffer, start: number, end: number, plain: boolean) => boolean

/** The checks of a string subschema; undefined when it has none (any string will do). */
export function stringChecks(node: PlanNode): StringChecks | undefined {
  const { minLength, maxLength, stringTests: tests } = node
  const lengths = minLength > 0 || maxLength !== Infinity
  const listed = node.choices.length > 0
  if (!lengths && !listed && tests.length === 0) return undefined
  const choices = listed ? asciiChoices(node) : []
  return (buf, start, end, plain) => {
    const escaped = !plain && stringEscaped
    const nonAscii = !plain && stringNonAscii
    let value: string | undefined
    if (lengths) {
      let length: number
      if (escaped) {
        value = stringValue(buf, start, end, escaped, nonAscii)
        length = ucs2length(value)
      } else if (nonAscii) {
        // Well-formed UTF-8: one code point per byte that is not a continuation byte (10xxxxxx).
        length = 0
        for (let i = start + 1; i < end - 1; i++) if ((buf[i]! & 0xc0) !== 0x80) length++
      } else {
        length = end - start - 2
      }
      if (length < minLength || length > maxLength) return false
    }
    if (listed) {
      if (!escaped && !nonAscii) {
        if (!bytesListed(choices, buf, start + 1, end - 1)) return false
      } else {
        value ??= stringValue(buf, start, end, escaped, nonAscii)
        if (!allowed(node, value)) return false
      }
    }
    for (let i = 0; i < tests.length; i++) {
      const t = tests[i]!
      // ASCII without escapes: the bytes between the quotes are the string's characters.
      if (t.ascii !== undefined && !escaped && !nonAscii) {
        if (!t.ascii(buf, start + 1, end - 1)) return false
      } else {
        value ??= stringValue(buf, start, end, escaped, nonAscii)
        if (!t.test(value)) return false
      }
    }
    return true
  }
}

/**
 * The same checks for a string known to be ASCII without escapes, given as parts the generated walk
 * (json-skip-code.ts) writes out or calls directly on the bytes between the quotes: its length is its byte count, an
 * enum/const compares bytes, patterns and formats run as automata (ascii-regexp.ts). Undefined when a pattern or
 * format has no automaton: then stringChecks does all.
 */
export interface PlainStringChecks {
  readonly minLength: number
  readonly maxLength: number
  /**
   * enum/const: `lists`, each list's ASCII strings as bytes (the string must be one of every list), and `test` on
   * the bytes [start, end) between the quotes; undefined when the subschema has none.
   */
  readonly listed:
    | {
        readonly lists: readonly (readonly Uint8Array[])[]
        readonly test: (buf: Buffer, start: number, end: number) => boolean
      }
    | undefined
  readonly matchers: readonly AsciiMatcher[]
}

export function plainStringChecks(node: PlanNode): PlainStringChecks | undefined {
  const matchers: AsciiMatcher[] = []
  for (const t of node.stringTests) {
    if (t.ascii === undefined) return undefined
    matchers.push(t.ascii)
  }
  const choices = asciiChoices(node)
  return {
    minLength: node.minLength,
    maxLength: node.maxLength,
    listed:
      node.choices.length > 0
        ? { lists: choices, test: (buf, start, end) => bytesListed(choices, buf, start, end) }
        : undefined,
    matchers,
  }
}

/** Each enum/const list's ASCII strings as bytes, to compare an ASCII string without decoding it. */
function asciiChoices(node: PlanNode): Uint8Array[][] {
  return node.choices.map((list) =>
    list
      .filter((c): c is string => typeof c === 'string' && /^[\x00-\x7f]*$/.test(c))
      .map((c) => Buffer.from(c, 'latin1')),
  )
}

function bytesListed(choices: readonly Uint8Array[][], buf: Buffer, start: number, end: number): boolean {
  for (let c = 0; c < choices.length; c++) {
    const list = choices[c]!
    let found = false
    for (let i = 0; i < list.length && !found; i++) found = sameBytes(list[i]!, buf, start, end)
    if (!found) return false
  }
  return true
}

function sameBytes(bytes: Uint8Array, buf: Buffer, start: number, end: number): boolean {
  if (bytes.length !== end - start) return false
  for (let j = 0; j < bytes.length; j++) if (bytes[j] !== buf[start + j]) return false
  return true
}
