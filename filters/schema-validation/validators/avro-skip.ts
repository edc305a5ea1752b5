import type avsc from 'avsc'

/**
 * A fast path for checking Avro records: walks a payload's binary encoding by the schema without building the
 * value (no strings decoded, no objects or arrays made), which is where almost all of decoding's time goes.
 * Written from the Avro 1.11 specification, "Binary Encoding"
 * (https://avro.apache.org/docs/1.11.1/specification/#binary-encoding): ints and longs are zig-zag varints; strings
 * and bytes a long length and that many bytes; arrays and maps blocks of a long count (a negative count is followed
 * by the block's size in bytes), ended by a zero count, map keys being strings; enums and unions a long index;
 * fixed its declared size; records their fields in order; null nothing; boolean one byte; float 4, double 8.
 *
 * It only ever says "certainly valid": a payload it walks to the last byte decodes with avsc too (it checks
 * everything avsc's reader refuses: enum and union indexes in range, longs avsc can represent, lengths and counts
 * that fit the payload). Any
 * other answer, including a doubt (a varint over 10 bytes, a count larger than what is left), is left to avsc, which
 * says what is wrong; so verdicts and messages stay avsc's, only valid records get here faster.
 */

/**
 * The position right after a value of the type that starts at `pos`, or -1 when not certainly one. The value must
 * end by `end` (default: the end of `buf`): a payload inside a larger buffer (a record value inside its batch) is
 * walked in place, exactly as a view of it would be.
 */
export type AvroSkip = (buf: Uint8Array, pos: number, end?: number) => number

/** One step of the walk: the position after the value at `pos`, or -1; bytes from `limit` on are not the payload's. */
type Step = (buf: Uint8Array, pos: number) => number

/** Where the payload being walked ends (set by each walk; kept outside so that the steps take no extra argument). */
let limit = 0

/** Compiles a skipper for a parsed avsc type; undefined for a type it does not know (avsc alone then). */
export function compileAvroSkip(type: avsc.Type): AvroSkip | undefined {
  let root: Step
  try {
    root = compile(type, new Map())
  } catch (err) {
    if (err instanceof UnknownAvroType) return undefined
    throw err
  }
  return (buf, pos, end = buf.length) => {
    limit = end
    return root(buf, pos)
  }
}

class UnknownAvroType extends Error {}

/** The value of the last varint readLong read (kept outside so that reading one allocates nothing). */
let longValue = 0

/** Reads a zig-zag varint long into longValue; returns the position after it, or -1. */
function readLong(buf: Uint8Array, pos: number): number {
  let n = 0
  let scale = 1
  // A long takes at most 10 bytes (64 bits, 7 per byte); beyond 2^53 the value is inexact, which only lengths,
  // counts and indexes read here, and any of those that large fails its bounds check anyway.
  for (let i = 0; i < 10; i++) {
    if (pos >= limit) return -1
    const b = buf[pos++]!
    n += (b & 0x7f) * scale
    if ((b & 0x80) === 0) {
      longValue = n % 2 === 0 ? n / 2 : -(n + 1) / 2
      return pos
    }
    scale *= 128
  }
  return -1
}

function skipVarint(buf: Uint8Array, pos: number): number {
  for (let i = 0; i < 10; i++) {
    if (pos >= limit) return -1
    if ((buf[pos++]! & 0x80) === 0) return pos
  }
  return -1
}

/**
 * A long avsc accepts: it refuses values beyond +-(2^53 - 2) ("potential precision loss", avsc LongType). Values
 * over 2^52, where the two ways of summing the varint's bits could round apart, are left to avsc.
 */
function skipLong(buf: Uint8Array, pos: number): number {
  pos = readLong(buf, pos)
  return pos >= 0 && Math.abs(longValue) <= 2 ** 52 ? pos : -1
}

function skipLengthPrefixed(buf: Uint8Array, pos: number): number {
  const at = readLong(buf, pos)
  if (at < 0 || longValue < 0 || longValue > limit - at) return -1
  return at + longValue
}

/** Blocks of items (arrays) or of key/value pairs (maps, `key` set). */
function skipBlocks(item: Step, key: boolean): Step {
  return (buf, pos) => {
    for (;;) {
      pos = readLong(buf, pos)
      if (pos < 0) return -1
      let count = longValue
      if (count === 0) return pos
      if (count < 0) {
        count = -count
        pos = skipVarint(buf, pos) // the block's size in bytes, not needed to walk it
        if (pos < 0) return -1
      }
      // More items than bytes left is possible only for items of no bytes (null): left to avsc.
      if (count > limit - pos) return -1
      for (let i = 0; i < count; i++) {
        if (key) {
          pos = skipLengthPrefixed(buf, pos)
          if (pos < 0) return -1
        }
        pos = item(buf, pos)
        if (pos < 0) return -1
      }
    }
  }
}

function fixedSize(size: number): Step {
  return (_buf, pos) => (pos + size <= limit ? pos + size : -1)
}

/** Index-selected: an enum's symbol (no payload) or a union's branch. */
function indexed(branches: readonly (Step | undefined)[]): Step {
  const n = branches.length
  return (buf, pos) => {
    pos = readLong(buf, pos)
    if (pos < 0) return -1
    const index = longValue
    if (!(index >= 0 && index < n && Number.isInteger(index))) return -1
    const branch = branches[index]
    return branch === undefined ? pos : branch(buf, pos)
  }
}

function sequence(fields: readonly Step[]): Step {
  return (buf, pos) => {
    for (let i = 0; i < fields.length && pos >= 0; i++) pos = fields[i]!(buf, pos)
    return pos
  }
}

/** The avsc type's public shape that the skipper reads (avsc 5: typeName and the per-kind properties). */
interface TypeShape {
  readonly typeName: string
  readonly fields?: readonly { readonly type: avsc.Type }[]
  readonly symbols?: readonly string[]
  readonly itemsType?: avsc.Type
  readonly valuesType?: avsc.Type
  readonly types?: readonly avsc.Type[]
  readonly size?: number
  readonly underlyingType?: avsc.Type
}

const NOTHING: Step = (_buf, pos) => pos

function compile(type: avsc.Type, named: Map<avsc.Type, Step>): Step {
  const known = named.get(type)
  if (known !== undefined) return known
  const t = type as unknown as TypeShape
  switch (t.typeName) {
    case 'null':
      return NOTHING
    case 'boolean':
      return fixedSize(1)
    case 'int':
      return skipVarint
    case 'long':
      return skipLong
    case 'float':
      return fixedSize(4)
    case 'double':
      return fixedSize(8)
    case 'string':
    case 'bytes':
      return skipLengthPrefixed
    case 'fixed':
      return fixedSize(t.size ?? 0)
    case 'enum':
      return indexed(new Array<undefined>(t.symbols?.length ?? 0).fill(undefined))
    case 'array':
      return skipBlocks(compile(t.itemsType!, named), false)
    case 'map':
      return skipBlocks(compile(t.valuesType!, named), true)
    case 'union:wrapped':
    case 'union:unwrapped':
      return indexed((t.types ?? []).map((branch) => compile(branch, named)))
    case 'record':
    case 'error': {
      // Records may refer to themselves (a linked list, a tree): the name stands for the skipper until it is built.
      let built: Step | undefined
      const self: Step = (buf, pos) => built!(buf, pos)
      named.set(type, self)
      built = sequence((t.fields ?? []).map((f) => compile(f.type, named)))
      named.set(type, built)
      return built
    }
    default:
      if (t.typeName.startsWith('logical:') && t.underlyingType !== undefined) return compile(t.underlyingType, named)
      throw new UnknownAvroType(t.typeName)
  }
}
