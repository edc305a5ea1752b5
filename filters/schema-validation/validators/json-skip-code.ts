import {
  FALSE,
  lastStringPlain,
  matchLiteral,
  NULL,
  numberValue,
  scanNumber,
  scanString,
  scanStringBody,
  skipValue,
  stringEscaped,
  TRUE,
} from './json-skip-lexer.js'
import { keyMatches, namesByFirstByte } from './json-skip-object-code.js'
import {
  allowed,
  type PlanNode,
  T_ARRAY,
  T_BOOLEAN,
  T_INTEGER,
  T_NULL,
  T_NUMBER,
  T_OBJECT,
  T_STRING,
} from './json-skip-plan.js'
import { type PlainStringChecks, plainStringChecks, stringChecks } from './json-skip-strings.js'

/**
 * The whole schema's walk as one function (json-skip.ts's fast path, with the same rules as its per-subschema
 * steps): every subschema's code is written out where its value is read, with the common cases inline (whitespace,
 * punctuation, a known key spelled plainly, a small non-negative integer) and the lexer (json-skip-lexer.ts) called for
 * string tokens and the rest. The walk made of a step function per subschema spends much of a 1 KiB order in the calls
 * between steps, which the JIT cannot inline all of, and in the per-step bookkeeping (a 1 KiB order of
 * bench/json-check-cost.ts, on a 2-core machine: about 1.7 us as steps, 1.0 us as one function). ajv compiles its
 * validators the same way (new Function).
 *
 * Only numbers and fixed text go into the generated code (byte values, lengths, finite bounds, indexes): the schema's
 * names and strings, which come from a registry, are never part of it; checks that need them are passed in as values.
 *
 * Undefined when the code would be larger than MAX_CODE (a schema of thousands of subschemas): the step walk takes it.
 */
export type WholeWalk = (buf: Buffer, pos: number, end: number) => boolean

/** Characters of generated code beyond which a schema is walked by steps instead. */
const MAX_CODE = 400_000

export function wholeWalk(root: PlanNode): WholeWalk | undefined {
  const lines: string[] = []
  /** Values the code calls or reads: element i of the array the code is made with, read into constant `x<i>`. */
  const values: unknown[] = []
  let ids = 0
  let size = 0
  const emit = (s: string) => {
    size += s.length + 1
    if (size > MAX_CODE) throw new NoCode()
    lines.push(s)
  }
  const pass = (v: unknown) => `x${values.push(v) - 1}`
  const num = (n: number) => {
    // Finite numbers only, written as JavaScript reads them back (String gives a numeric literal for these).
    if (!Number.isFinite(n)) throw new NoCode()
    return `(${String(n)})`
  }
  const SPACE =
    'while (p < end && (b = buf[p]) <= 0x20) { if (b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09) p++; else return false }'
  const at = (p: string) => `(${p} < end ? buf[${p}] : -1)`
  // The byte at p into b (-1 at the end), after any whitespace: compact JSON has none, and reading the byte once
  // serves both the whitespace test and the punctuation test that follows.
  const NEXT = `b = ${at('p')}; if (b <= 0x20 && b >= 0) { ${SPACE}; b = ${at('p')} }`

  /** A value's code; on entry b holds the byte at p (NEXT has read it), as each kind's first test expects. */
  function value(node: PlanNode): void {
    if (node.any) {
      emit(`p = ${pass(skipValue)}(buf, p, 0); if (p < 0) return false`)
      return
    }
    if (node.never) {
      emit('return false')
      return
    }
    const unlisted = node.choices.length === 0
    const kinds: [number, (n: PlanNode) => void][] = []
    if (node.types & T_STRING) kinds.push([0x22, string])
    if (node.types & T_OBJECT && unlisted) kinds.push([0x7b, object])
    if (node.types & T_ARRAY && unlisted) kinds.push([0x5b, array])
    const hasNumber = (node.types & (T_INTEGER | T_NUMBER)) !== 0
    const literals: [number, Uint8Array, boolean | null][] = []
    if (node.types & T_BOOLEAN && allowed(node, true)) literals.push([0x74, TRUE, true])
    if (node.types & T_BOOLEAN && allowed(node, false)) literals.push([0x66, FALSE, false])
    if (node.types & T_NULL && allowed(node, null)) literals.push([0x6e, NULL, null])
    if (literals.length === 0 && kinds.length + (hasNumber ? 1 : 0) === 1) {
      // One type (the usual schema): its code refuses what does not start as that type does.
      if (hasNumber) number(node)
      else kinds[0]![1](node)
      return
    }
    for (const [first, code] of kinds) {
      emit(`if (b === ${first}) {`)
      code(node)
      emit('} else')
    }
    for (const [first, bytes] of literals) {
      emit(`if (b === ${first}) {`)
      emit(`p = ${pass(matchLiteral)}(buf, p, ${pass(bytes)}); if (p < 0) return false`)
      emit('} else')
    }
    emit('{')
    if (hasNumber) number(node)
    else emit('return false')
    emit('}')
  }

  /**
   * Strings: the token by the lexer (its word-at-a-time loop: reading the first bytes here instead made the 1 KiB
   * orders slower), then the checks, written out for a plain ASCII string (plainStringChecks), else stringChecks
   * (json-skip-strings.ts).
   */
  function string(node: PlanNode): void {
    const checks = stringChecks(node)
    emit('if (b !== 0x22) return false')
    emit('{')
    emit('const a = p')
    emit(`p = ${pass(scanStringBody)}(buf, p + 1); if (p < 0) return false`)
    if (checks !== undefined) {
      emit(`const plain = ${pass(lastStringPlain)}()`)
      const plainChecks = plainStringChecks(node)
      if (plainChecks === undefined) {
        emit(`if (!${pass(checks)}(buf, a, p, plain)) return false`)
      } else {
        emit(`if (!plain) { if (!${pass(checks)}(buf, a, p, false)) return false } else {`)
        if (plainChecks.minLength > 0) emit(`if (p - a - 2 < ${num(plainChecks.minLength)}) return false`)
        if (plainChecks.maxLength !== Infinity) emit(`if (p - a - 2 > ${num(plainChecks.maxLength)}) return false`)
        if (plainChecks.listed !== undefined) listed(plainChecks.listed)
        for (const m of plainChecks.matchers) emit(`if (!${pass(m)}(buf, a + 1, p - 1)) return false`)
        emit('}')
      }
    }
    emit('}')
  }

  /**
   * enum/const on a plain ASCII string: for one list of a few short strings (the usual enum of codes), byte
   * comparisons written out, one per allowed string; otherwise a call comparing with each list.
   */
  function listed(plain: NonNullable<PlainStringChecks['listed']>): void {
    const lists = plain.lists
    if (lists.length === 1 && lists[0]!.length <= 16 && lists[0]!.every((c) => c.length <= 16)) {
      const alternatives = lists[0]!.map((c) => {
        const tests = [`p - a - 2 === ${c.length}`]
        for (let j = 0; j < c.length; j++) tests.push(`buf[a + ${j + 1}] === ${c[j]}`)
        return `(${tests.join(' && ')})`
      })
      emit(`if (!(${alternatives.length === 0 ? 'false' : alternatives.join(' || ')})) return false`)
    } else {
      emit(`if (!${pass(plain.test)}(buf, a + 1, p - 1)) return false`)
    }
  }

  /** Numbers: the type (integer: no fractional part, as ajv's `!(x % 1)`) and 6.2.2 to 6.2.5. */
  function number(node: PlanNode): void {
    emit('{')
    // scanNumber's own common case, a small non-negative integer, inline; anything else by scanNumber itself.
    emit('let v = 0')
    emit('const a = p')
    emit('if (b >= 0x31 && b <= 0x39) {')
    emit('do { v = v * 10 + (b - 0x30); b = ++p < end ? buf[p] : -1 } while (b >= 0x30 && b <= 0x39 && p - a < 15)')
    emit('if (b === 0x2e || b === 0x65 || b === 0x45 || (b >= 0x30 && b <= 0x39)) b = -2')
    emit('} else b = -2')
    emit(`if (b === -2) { p = ${pass(scanNumber)}(buf, a); if (p < 0) return false; v = ${pass(() => numberValue)}() }`)
    if ((node.types & T_NUMBER) === 0) emit('if (v % 1 !== 0) return false')
    if (node.minimum !== -Infinity) emit(`if (!(v >= ${num(node.minimum)})) return false`)
    if (node.maximum !== Infinity) emit(`if (!(v <= ${num(node.maximum)})) return false`)
    if (node.exclusiveMinimum !== -Infinity) emit(`if (!(v > ${num(node.exclusiveMinimum)})) return false`)
    if (node.exclusiveMaximum !== Infinity) emit(`if (!(v < ${num(node.exclusiveMaximum)})) return false`)
    if (node.choices.length > 0) emit(`if (!${pass((v: number) => allowed(node, v))}(v)) return false`)
    emit('}')
  }

  /** The ':' after a key, with the whitespace around it; leaves b holding the value's first byte. */
  function colon(): void {
    emit(NEXT)
    emit('if (b !== 0x3a) return false')
    emit('p++')
    emit(NEXT)
  }

  /**
   * Objects (6.5: properties, additionalProperties, required), as json-skip-object-code.ts: keys matched against the
   * names' UTF-8 bytes grouped by first byte; a key with an escape, or a known name seen twice, is not certain.
   */
  function object(node: PlanNode): void {
    const id = ids++
    const named = node.named
    const byFirst = namesByFirstByte(named)
    emit('if (b !== 0x7b) return false')
    emit('{')
    for (let i = 0; i < named.length; i++) emit(`let s${id}_${i} = false`)
    emit(`let r${id} = 0`)
    emit('p++')
    emit(NEXT)
    emit('if (b === 0x7d) p++; else for (;;) {')
    emit('if (b !== 0x22) return false')
    // A known key's value is checked right where its name matched; `break property` then skips the unknown-key code.
    emit(`property${id}: {`)
    emit('const k = p + 1')
    emit(`switch (${at('k')}) {`)
    for (const [first, indexes] of byFirst) {
      emit(`case ${first}:`)
      for (const i of indexes) {
        const name = named[i]!.name
        emit(`if (${keyMatches(name)}) {`)
        emit(`if (s${id}_${i}) return false`)
        emit(`s${id}_${i} = true`)
        if (named[i]!.required) emit(`r${id}++`)
        emit(`p = k + ${name.length + 1}`)
        colon()
        value(named[i]!.node)
        emit(`break property${id}`)
        emit('}')
      }
      emit('break')
    }
    emit('}')
    // A key the schema does not name (or names with an escape, which is not certain: refused here).
    emit(`p = ${pass(scanString)}(buf, p)`)
    emit(`if (p < 0 || ${pass(() => stringEscaped)}()) return false`)
    colon()
    if (node.additional === undefined) emit(`p = ${pass(skipValue)}(buf, p, 0); if (p < 0) return false`)
    else value(node.additional)
    emit('}')
    emit(NEXT)
    emit('if (b === 0x7d) { p++; break }')
    emit('if (b !== 0x2c) return false')
    emit('p++')
    emit(NEXT)
    emit('}')
    emit(`if (r${id} !== ${node.requiredCount}) return false`)
    emit('}')
  }

  /** Arrays: items (a single schema, draft-07 validation 6.4.1) for every element, minItems and maxItems. */
  function array(node: PlanNode): void {
    const id = ids++
    emit('if (b !== 0x5b) return false')
    emit('{')
    emit(`let c${id} = 0`)
    emit('p++')
    emit(NEXT)
    emit('if (b !== 0x5d) for (;;) {')
    emit('{')
    if (node.items === undefined) emit(`p = ${pass(skipValue)}(buf, p, 0); if (p < 0) return false`)
    else value(node.items)
    emit('}')
    emit(`c${id}++`)
    emit(NEXT)
    emit('if (b === 0x5d) break')
    emit('if (b !== 0x2c) return false')
    emit('p++')
    emit(NEXT)
    emit('}')
    emit('p++')
    if (node.minItems > 0) emit(`if (c${id} < ${node.minItems}) return false`)
    if (node.maxItems !== Infinity) emit(`if (c${id} > ${num(node.maxItems)}) return false`)
    emit('}')
  }

  try {
    emit('return function walk(buf, p, end) {')
    emit('let b = 0')
    emit(NEXT)
    value(root)
    emit(SPACE)
    emit('return p === end')
    emit('}')
  } catch (err) {
    if (err instanceof NoCode) return undefined
    throw err
  }
  // The values arrive as one array, read into constants (not as parameters: a large schema could pass more values
  // than a function may take).
  const head = values.map((_, i) => `const x${i} = x[${i}]`)
  const make = new Function('x', [...head, ...lines].join('\n')) as (x: unknown[]) => WholeWalk
  return make(values)
}

/** The schema gets no generated code (too large, or a bound the code cannot write): the step walk takes it. */
class NoCode extends Error {}
