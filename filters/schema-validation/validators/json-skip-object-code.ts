import { endOfPayload, scanString, skipSpace, skipValue, stringEscaped } from './json-skip-lexer.js'
import type { Step } from './json-skip-object.js'
import type { PlanNode } from './json-skip-plan.js'

/**
 * Objects (JSON Schema validation 6.5: properties, additionalProperties, required), with the same rules as the
 * generic objectStep (json-skip-object.ts) but as code made for one subschema: each name is matched by comparing the
 * key's bytes with the name's UTF-8 bytes written out as constants, the names grouped by their first byte in a switch,
 * and each property's value step called from a call site of its own. The generic walk calls every property's step
 * from one site (which the JIT cannot inline, seeing many targets) and compares names in a loop over an array; on a
 * 1 KiB order this walk saves a few hundred ns (bench/json-check-cost.ts). ajv compiles its validators the same way
 * (new Function).
 *
 * Only numbers go into the generated text (byte values, lengths, indexes, a count): the schema's names, which come
 * from a registry, are never part of the code, and steps are passed in as values.
 *
 * Undefined for an object with more named properties than MAX_NAMED (the switch would be long code for rare schemas);
 * the generic walk takes those.
 */
/**
 * The indexes of the named properties by the first byte of their UTF-8 name (the byte after a key's opening quote).
 * Names a raw key cannot spell (a '"', '\\' or control byte, which a valid key escapes) are left out: such a key has
 * an escape, which is not certain.
 */
export function namesByFirstByte(named: PlanNode['named']): Map<number, number[]> {
  const byFirst = new Map<number, number[]>()
  named.forEach((p, i) => {
    if (p.name.some((b) => b < 0x20 || b === 0x22 || b === 0x5c)) return
    // The empty name's key is '""': its first byte after the opening quote is the closing one.
    const first = p.name.length === 0 ? 0x22 : p.name[0]!
    const list = byFirst.get(first) ?? []
    list.push(i)
    byFirst.set(first, list)
  })
  return byFirst
}

/**
 * The generated condition that the key starting at `k` (after its opening quote, its first byte already matched)
 * is exactly `name`, closing quote included, within `end`.
 */
export function keyMatches(name: Uint8Array): string {
  const tests = [`k + ${name.length} < end`]
  for (let j = 1; j < name.length; j++) tests.push(`buf[k + ${j}] === ${name[j]}`)
  tests.push(`buf[k + ${name.length}] === 0x22`)
  return tests.join(' && ')
}

export function objectCode(node: PlanNode, compile: (node: PlanNode) => Step): Step | undefined {
  const named = node.named
  if (named.length > MAX_NAMED) return undefined
  const values = named.map((p) => compile(p.node))
  const additional = node.additional === undefined ? undefined : compile(node.additional)
  const byFirst = namesByFirstByte(named)
  const lines: string[] = []
  const emit = (s: string) => lines.push(s)
  emit('return function object(buf, pos) {')
  emit('  const end = endOfPayload()')
  emit('  if ((pos < end ? buf[pos] : -1) !== 0x7b) return -1')
  for (let i = 0; i < named.length; i++) emit(`  let seen${i} = false`)
  emit('  let requiredSeen = 0')
  emit('  let p = skipSpace(buf, pos + 1)')
  emit(`  if ((p < end ? buf[p] : -1) === 0x7d) return ${node.requiredCount === 0 ? 'p + 1' : '-1'}`)
  emit('  for (;;) {')
  emit('    if ((p < end ? buf[p] : -1) !== 0x22) return -1')
  emit('    const k = p + 1')
  emit('    let v = -2') // the index of the named property whose value follows, -1 for an additional one
  emit('    switch (k < end ? buf[k] : -1) {')
  for (const [first, indexes] of byFirst) {
    emit(`      case ${first}:`)
    for (const i of indexes) {
      const name = named[i]!.name
      emit(`        if (v === -2 && ${keyMatches(name)}) {`)
      emit(`          if (seen${i}) return -1`)
      emit(`          seen${i} = true`)
      if (named[i]!.required) emit('          requiredSeen++')
      emit(`          v = ${i}`)
      emit(`          p = k + ${name.length + 1}`)
      emit('        }')
    }
    emit('        break')
  }
  emit('    }')
  emit('    if (v === -2) {')
  emit('      p = scanString(buf, p)')
  emit('      if (p < 0 || escaped()) return -1')
  emit('      v = -1')
  emit('    }')
  emit('    p = skipSpace(buf, p)')
  emit('    if ((p < end ? buf[p] : -1) !== 0x3a) return -1')
  emit('    p = skipSpace(buf, p + 1)')
  emit('    switch (v) {')
  for (let i = 0; i < named.length; i++) emit(`      case ${i}: p = value${i}(buf, p); break`)
  emit(`      default: p = ${additional === undefined ? 'skipValue(buf, p, 0)' : 'additional(buf, p)'}`)
  emit('    }')
  emit('    if (p < 0) return -1')
  emit('    p = skipSpace(buf, p)')
  emit('    const sep = (p < end ? buf[p] : -1)')
  emit('    if (sep === 0x7d) break')
  emit('    if (sep !== 0x2c) return -1')
  emit('    p = skipSpace(buf, p + 1)')
  emit('  }')
  emit(`  return requiredSeen === ${node.requiredCount} ? p + 1 : -1`)
  emit('}')
  const valueNames = values.map((_, i) => `value${i}`)
  const make = new Function(
    'endOfPayload',
    'skipSpace',
    'scanString',
    'skipValue',
    'escaped',
    'additional',
    ...valueNames,
    lines.join('\n'),
  ) as (...args: unknown[]) => Step
  return make(endOfPayload, skipSpace, scanString, skipValue, () => stringEscaped, additional, ...values)
}

/** Named properties beyond which an object is walked by the generic objectStep. */
const MAX_NAMED = 256
