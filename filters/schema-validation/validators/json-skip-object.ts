import { endOfPayload, peek, scanString, skipSpace, skipValue, stringEscaped } from './json-skip-lexer.js'
import type { PlanNode } from './json-skip-plan.js'

/** The position right after a value that starts at `pos` and is certainly valid, or -1 (json-skip.ts). */
export type Step = (buf: Buffer, pos: number) => number

/** Where each object walk stamps the names it sees: a fresh number per object (exact up to 2^53), nothing to clear. */
let objectStamp = 0

/**
 * Objects (JSON Schema validation 6.5: properties, additionalProperties, required). A key is read as the name it
 * spells only when its bytes are a name's UTF-8 bytes between quotes; a key with an escape may spell a known name
 * another way, so it is not certain, and neither is a known name seen twice (JSON.parse keeps only the last value).
 * Keys the schema does not name meet additionalProperties (any value when absent); duplicates of those are harmless,
 * since every occurrence meets the same schema. This is the generic walk, for objects with very many named
 * properties; the others get code made for them with the same rules (json-skip-object-code.ts).
 */
export function objectStep(node: PlanNode, compile: (node: PlanNode) => Step): Step {
  // Names a raw key can spell: no '"', '\' or control character (those are escaped in a valid key).
  const names = node.named.map((p) => (p.name.some((b) => b < 0x20 || b === 0x22 || b === 0x5c) ? undefined : p.name))
  const values = node.named.map((p) => compile(p.node))
  const required = node.named.map((p) => p.required)
  const requiredCount = node.requiredCount
  const additional = node.additional === undefined ? undefined : compile(node.additional)
  const count = names.length
  const seen = new Float64Array(count)

  /** The index of the name whose bytes and closing quote are at `at`, trying `first` (the usual next) first. */
  function nameAt(buf: Buffer, at: number, first: number): number {
    if (first < count && spells(names[first], buf, at)) return first
    for (let i = 0; i < count; i++) if (i !== first && spells(names[i], buf, at)) return i
    return -1
  }

  return (buf, pos) => {
    if (peek(buf, pos) !== 0x7b) return -1
    const stamp = ++objectStamp
    let requiredSeen = 0
    let next = 0 // documents usually hold the properties in the schema's order: try the one after the last first
    let p = skipSpace(buf, pos + 1)
    if (peek(buf, p) !== 0x7d) {
      for (;;) {
        if (peek(buf, p) !== 0x22) return -1
        const index = nameAt(buf, p + 1, next)
        if (index >= 0) {
          p += names[index]!.length + 2
        } else {
          p = scanString(buf, p)
          if (p < 0 || stringEscaped) return -1
        }
        p = skipSpace(buf, p)
        if (peek(buf, p) !== 0x3a) return -1
        p = skipSpace(buf, p + 1)
        if (index >= 0) {
          if (seen[index] === stamp) return -1
          seen[index] = stamp
          if (required[index]) requiredSeen++
          p = values[index]!(buf, p)
          next = index + 1
        } else {
          p = additional === undefined ? skipValue(buf, p, 0) : additional(buf, p)
        }
        if (p < 0) return -1
        p = skipSpace(buf, p)
        const sep = peek(buf, p)
        if (sep === 0x7d) break
        if (sep !== 0x2c) return -1
        p = skipSpace(buf, p + 1)
      }
    }
    return requiredSeen === requiredCount ? p + 1 : -1
  }
}

/** Whether `name`'s bytes start at `at` and a quote follows them, before the payload's end. */
function spells(name: Uint8Array | undefined, buf: Buffer, at: number): boolean {
  if (name === undefined) return false
  const length = name.length
  if (at + length >= endOfPayload()) return false
  for (let j = 0; j < length; j++) if (name[j] !== buf[at + j]) return false
  return buf[at + length] === 0x22
}
