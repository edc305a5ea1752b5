import fc from 'fast-check'
import { HOSTILE_INT32 } from './byte-mutations.js'
import type { FieldSpan } from './schema-fields.js'

/**
 * Structure-aware mutations: one field of a valid encoding (located by schema-fields.ts) gets a value chosen for
 * its kind, the values that break decoders of length-prefixed formats: null where not nullable, negative
 * lengths, counts past the end or up to 2^31 and 2^32, overlong and non-terminated varints, booleans other than
 * 0/1, duplicated and missing fields, unknown tags, invalid UTF-8.
 */
export interface FieldMutation {
  /** Which span, modulo the number of spans. */
  span: number
  /** Which of the kind's replacements, modulo their number. */
  op: number
  /** Free value some replacements use (random bytes, a delta). */
  value: number
}

export const fieldMutation: fc.Arbitrary<FieldMutation> = fc.record({
  span: fc.nat(),
  op: fc.nat(),
  value: fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
})

function uvarintBytes(v: number): Buffer {
  const out: number[] = []
  let x = v
  while (x >= 0x80) {
    out.push((x % 0x80) | 0x80)
    x = Math.floor(x / 0x80)
  }
  out.push(x)
  return Buffer.from(out)
}

function readUvarint(b: Buffer): number {
  let value = 0
  for (let i = 0, scale = 1; i < b.length; i++, scale *= 128) value += (b[i]! & 0x7f) * scale
  return value
}

function int(width: number, v: number): Buffer {
  const b = Buffer.alloc(width)
  if (width === 2) b.writeInt16BE(((v << 16) >> 16) | 0)
  else b.writeInt32BE(v | 0)
  return b
}

/** The replacements for a field of this kind, given its current bytes and the bytes after it. */
function replacements(span: FieldSpan, current: Buffer, after: number, value: number): Buffer[] {
  const remove = Buffer.alloc(0)
  const twice = Buffer.concat([current, current])
  switch (span.kind) {
    case 'int16-length':
    case 'int32-length': {
      const width = span.kind === 'int16-length' ? 2 : 4
      const n = width === 2 ? current.readInt16BE(0) : current.readInt32BE(0)
      return [...HOSTILE_INT32, n + 1, n - 1, after, after + 1, value].map((v) => int(width, v)).concat([remove])
    }
    case 'uvarint-length':
    case 'tag-count':
    case 'tag':
    case 'tag-size': {
      const n = readUvarint(current)
      return [
        uvarintBytes(0),
        uvarintBytes(n + 1),
        uvarintBytes(Math.max(0, n - 1)),
        uvarintBytes(after + 2),
        uvarintBytes(2 ** 31),
        uvarintBytes(2 ** 32 - 1),
        // A 5-byte varint past 32 bits, a 6-byte one, one that never ends, and n written in more bytes than needed.
        Buffer.from([0xff, 0xff, 0xff, 0xff, 0x1f]),
        Buffer.from([0x80, 0x80, 0x80, 0x80, 0x80, 0x01]),
        Buffer.from([0xff, 0xff]),
        Buffer.concat([current.subarray(0, -1), Buffer.from([current[current.length - 1]! | 0x80, 0x00])]),
        uvarintBytes(Math.abs(value)),
        remove,
        twice,
      ]
    }
    case 'bool':
      return [Buffer.from([2]), Buffer.from([0xff]), remove, twice]
    case 'presence':
      return [Buffer.from([0]), Buffer.from([1]), Buffer.from([0xff]), Buffer.from([0x80]), remove]
    case 'fixed': {
      const flipped = Buffer.from(current)
      flipped[Math.abs(value) % flipped.length]! ^= 0x80
      return [Buffer.alloc(current.length, 0xff), Buffer.alloc(current.length), flipped, remove, twice]
    }
    case 'content': {
      const invalidUtf8 = Buffer.from(current)
      invalidUtf8[Math.abs(value) % Math.max(1, invalidUtf8.length)] = 0xff
      return [invalidUtf8, current.subarray(0, current.length >> 1), remove, twice, Buffer.from([0xc0, 0x80])]
    }
  }
}

/**
 * `buf` with the mutations applied to the fields they pick (spans located in `buf`). They are applied from the
 * last position to the first, so each span's offset still holds when its turn comes.
 */
export function applyFieldMutations(buf: Buffer, spans: readonly FieldSpan[], mutations: readonly FieldMutation[]) {
  if (spans.length === 0 || mutations.length === 0) return buf
  const picked = mutations
    .map((m) => ({ m, span: spans[m.span % spans.length]! }))
    .sort((a, b) => b.span.at - a.span.at)
  let out = buf
  let lastAt = Number.POSITIVE_INFINITY
  for (const { m, span } of picked) {
    // Two mutations of one field, or of nested spans, would apply to bytes already changed: keep the first.
    if (span.at + span.width > lastAt) continue
    lastAt = span.at
    const current = out.subarray(span.at, span.at + span.width)
    const options = replacements(span, current, out.length - span.at - span.width, m.value)
    const replacement = options[m.op % options.length]!
    out = Buffer.concat([out.subarray(0, span.at), replacement, out.subarray(span.at + span.width)])
  }
  return out
}
