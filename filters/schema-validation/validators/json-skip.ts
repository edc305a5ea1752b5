import { wholeWalk } from './json-skip-code.js'
import {
  beginPayload,
  FALSE,
  matchLiteral,
  NULL,
  numberValue,
  peek,
  scanNumber,
  scanString,
  skipSpace,
  skipValue,
  TRUE,
} from './json-skip-lexer.js'
import { objectStep, type Step } from './json-skip-object.js'
import { objectCode } from './json-skip-object-code.js'
import {
  type AjvParts,
  allowed,
  type PlanNode,
  planJsonSchema,
  T_ARRAY,
  T_BOOLEAN,
  T_INTEGER,
  T_NULL,
  T_NUMBER,
  T_OBJECT,
  T_STRING,
} from './json-skip-plan.js'
import { stringChecks } from './json-skip-strings.js'

/**
 * A fast path for checking JSON Schema records: walks the payload's UTF-8 JSON text (RFC 8259, json-skip-lexer.ts)
 * along the schema (json-skip-plan.ts) without building the document, which is where JSON.parse spends almost all
 * of a record's time. It only ever says "certainly valid": then JSON.parse(payload.toString('utf8')) succeeds and
 * the ajv validator compiled from the same schema accepts the result. Anything else, a doubt included (duplicate
 * property names the schema knows, keys with escapes, ill-formed UTF-8, numbers of more than 20 digits, deep nesting),
 * is left to JSON.parse and ajv, whose verdict and words are the answer; so only valid records get here faster.
 *
 * The payload is `buf[start, end)` (by default all of `buf`): a record's value can be checked where it lies in its
 * batch, with no view made for it.
 */
export type JsonSkip = (buf: Uint8Array, start?: number, end?: number) => boolean

/**
 * Compiles the fast path for a parsed schema and the ajv instance that compiled it; undefined when it has none.
 * `walk` says how: 'whole', one function for the whole schema (json-skip-code.ts), unless the schema is too large
 * for one, then 'steps', a step function per subschema (below); tests ask for each.
 */
export function compileJsonSkip(
  schema: unknown,
  ajv: AjvParts,
  walk: 'whole' | 'steps' = 'whole',
): JsonSkip | undefined {
  const root = planJsonSchema(schema, ajv)
  if (root === undefined) return undefined
  const whole = walk === 'whole' ? wholeWalk(root) : undefined
  const step = whole === undefined ? compile(root) : undefined
  return (payload, start = 0, end = payload.length) => {
    // Buffer's toString decodes exactly as the slow path does (payload.toString('utf8')).
    const buf = Buffer.isBuffer(payload) ? payload : Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength)
    if (start < 0 || end > buf.length || start > end) return false
    beginPayload(buf, start, end)
    let pos: number
    try {
      if (whole !== undefined) return whole(buf, start, end)
      pos = step!(buf, skipSpace(buf, start))
    } catch {
      // A format function that throws (ajv would throw too), or a stack too deep: the slow path deals with it.
      return false
    }
    // RFC 8259 section 2: JSON-text = ws value ws; nothing else may follow.
    return pos >= 0 && skipSpace(buf, pos) === end
  }
}

/** Any value that parses: a subschema with no constraint. */
const anyValue: Step = (buf, pos) => skipValue(buf, pos, 0)
const nothing: Step = () => -1

/**
 * One step per subschema, holding only the checks its keywords ask for. The first byte of a value tells its type
 * (RFC 8259 section 3): '"' string, '{' object, '[' array, 't'/'f' boolean, 'n' null, anything else a number or not
 * JSON (scanNumber refuses it).
 */
function compile(node: PlanNode): Step {
  if (node.any) return anyValue
  if (node.never) return nothing
  const string = node.types & T_STRING ? stringStep(node) : nothing
  // enum and const list primitives only, which no object or array equals.
  const unlisted = node.choices.length === 0
  const object = node.types & T_OBJECT && unlisted ? (objectCode(node, compile) ?? objectStep(node, compile)) : nothing
  const array = node.types & T_ARRAY && unlisted ? arrayStep(node) : nothing
  const number = node.types & (T_INTEGER | T_NUMBER) ? numberStep(node) : nothing
  const trueOk = (node.types & T_BOOLEAN) !== 0 && allowed(node, true)
  const falseOk = (node.types & T_BOOLEAN) !== 0 && allowed(node, false)
  const nullOk = (node.types & T_NULL) !== 0 && allowed(node, null)
  const only = [string, object, array, number].filter((s) => s !== nothing)
  if (only.length === 1 && !trueOk && !falseOk && !nullOk) {
    // One type (the usual schema): no dispatch; each step refuses what does not start as its type does.
    return only[0]!
  }
  return (buf, pos) => {
    const b = peek(buf, pos)
    if (b === 0x22) return string(buf, pos)
    if (b === 0x7b) return object(buf, pos)
    if (b === 0x5b) return array(buf, pos)
    if (b === 0x74) return trueOk ? matchLiteral(buf, pos, TRUE) : -1
    if (b === 0x66) return falseOk ? matchLiteral(buf, pos, FALSE) : -1
    if (b === 0x6e) return nullOk ? matchLiteral(buf, pos, NULL) : -1
    return number(buf, pos)
  }
}

/** Numbers: the type (integer: no fractional part, as ajv's `!(x % 1)`, so 1.0 is one) and 6.2.2 to 6.2.5. */
function numberStep(node: PlanNode): Step {
  const integerOnly = (node.types & T_NUMBER) === 0
  const { minimum, maximum, exclusiveMinimum, exclusiveMaximum } = node
  const listed = node.choices.length > 0
  return (buf, pos) => {
    const end = scanNumber(buf, pos)
    if (end < 0) return -1
    const v = numberValue
    if (integerOnly && v % 1 !== 0) return -1
    if (!(v >= minimum && v <= maximum && v > exclusiveMinimum && v < exclusiveMaximum)) return -1
    return !listed || allowed(node, v) ? end : -1
  }
}

/** Strings: the token, then the subschema's checks (json-skip-strings.ts). */
function stringStep(node: PlanNode): Step {
  const checks = stringChecks(node)
  if (checks === undefined) return scanString
  return (buf, pos) => {
    const end = scanString(buf, pos)
    if (end < 0) return -1
    return checks(buf, pos, end, false) ? end : -1
  }
}

/** Arrays: items (a single schema, draft-07 validation 6.4.1) for every element, minItems and maxItems. */
function arrayStep(node: PlanNode): Step {
  const item = node.items === undefined ? anyValue : compile(node.items)
  const { minItems, maxItems } = node
  return (buf, pos) => {
    if (peek(buf, pos) !== 0x5b) return -1
    let count = 0
    let p = skipSpace(buf, pos + 1)
    if (peek(buf, p) !== 0x5d) {
      for (;;) {
        p = item(buf, p)
        if (p < 0) return -1
        count++
        p = skipSpace(buf, p)
        const sep = peek(buf, p)
        if (sep === 0x5d) break
        if (sep !== 0x2c) return -1
        p = skipSpace(buf, p + 1)
      }
    }
    return count >= minItems && count <= maxItems ? p + 1 : -1
  }
}
