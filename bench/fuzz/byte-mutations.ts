import fc from 'fast-check'

/**
 * Blind byte-level mutations, for every target: they know nothing of the layout, so they reach the checks the
 * structure-aware ones do not think of. Positions are taken modulo the input's length when applied, so one
 * generated mutation fits any input.
 */
export type ByteMutation =
  | { kind: 'flip'; at: number; bit: number }
  | { kind: 'overwrite'; at: number; bytes: Uint8Array }
  | { kind: 'insert'; at: number; bytes: Uint8Array }
  | { kind: 'delete'; at: number; count: number }
  | { kind: 'truncate'; at: number }
  | { kind: 'int32'; at: number; value: number }
  | { kind: 'duplicate'; at: number; count: number }

/** Values that break length-prefixed formats: -1/null, other negatives, zero, and past any real buffer. */
export const HOSTILE_INT32 = [0, 1, -1, -2, 0x7f, 0x80, 0xff, 0x7fff, 0x8000, 0xffff, 0x7fffffff, -0x80000000, 1 << 20]

export const byteMutation: fc.Arbitrary<ByteMutation> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({
    kind: fc.constant('overwrite' as const),
    at: fc.nat(),
    bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }),
  }),
  fc.record({
    kind: fc.constant('insert' as const),
    at: fc.nat(),
    bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }),
  }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), count: fc.integer({ min: 1, max: 16 }) }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('int32' as const), at: fc.nat(), value: fc.constantFrom(...HOSTILE_INT32) }),
  fc.record({ kind: fc.constant('duplicate' as const), at: fc.nat(), count: fc.integer({ min: 1, max: 32 }) }),
)

/** `buf` with the mutation applied (a new Buffer; `buf` is not changed). `from` keeps bytes before it intact. */
export function applyByteMutation(buf: Buffer, m: ByteMutation, from = 0): Buffer {
  const span = buf.length - from
  const at = from + (span <= 0 ? 0 : m.at % (span + 1))
  switch (m.kind) {
    case 'flip': {
      const out = Buffer.from(buf)
      if (at < out.length) out[at]! ^= 1 << m.bit
      return out
    }
    case 'overwrite': {
      const out = Buffer.from(buf)
      out.set(m.bytes.subarray(0, Math.max(0, out.length - at)), Math.min(at, out.length))
      return out
    }
    case 'insert':
      return Buffer.concat([buf.subarray(0, at), m.bytes, buf.subarray(at)])
    case 'delete':
      return Buffer.concat([buf.subarray(0, at), buf.subarray(at + m.count)])
    case 'truncate':
      return Buffer.from(buf.subarray(0, at))
    case 'int32': {
      const out = Buffer.from(buf)
      if (at + 4 <= out.length) out.writeInt32BE(m.value | 0, at)
      return out
    }
    case 'duplicate':
      return Buffer.concat([buf.subarray(0, at + m.count), buf.subarray(at)])
  }
}

/** Cut points for feeding a buffer in pieces: sorted offsets strictly inside it, duplicates removed. */
export function cutPoints(length: number, cuts: readonly number[]): number[] {
  if (length <= 1) return []
  return [...new Set(cuts.map((c) => 1 + (c % (length - 1))))].sort((a, b) => a - b)
}

/** `buf` split at the cut points (views, no copy). */
export function splitAt(buf: Buffer, cuts: readonly number[]): Buffer[] {
  const pieces: Buffer[] = []
  let start = 0
  for (const c of cutPoints(buf.length, cuts)) {
    pieces.push(buf.subarray(start, c))
    start = c
  }
  pieces.push(buf.subarray(start))
  return pieces
}

/** A deterministic stream of numbers from raw fuzzer bytes, for runBytes entries that need choices. */
export class ByteChoices {
  private pos = 0
  constructor(private readonly data: Buffer) {}
  /** A number in [0, n), from the next byte (0 once the bytes run out). */
  pick(n: number): number {
    return n <= 0 ? 0 : (this.data[this.pos++] ?? 0) % n
  }
  /** The bytes not yet used for choices. */
  rest(): Buffer {
    return this.data.subarray(Math.min(this.pos, this.data.length))
  }
}
