import { STRUCT_SCHEMAS } from '../../codec/messages/generated/schema.js'
import { type FieldSchema, inRange, type TypeSchema } from '../../codec/messages/schema-types.js'

/**
 * Where each field of an encoded message lies, found by walking the bytes with the generated runtime schema
 * (generated/schema.ts) alone, not with the generated codecs: the structure-aware mutations then change one field
 * at a time (a count, a length, a tag), and on valid frames the walk is a second reading of the layout, compared
 * with the codec's (both must end at the frame's last byte).
 *
 * Wire forms as in codec/primitives/reader.ts (https://kafka.apache.org/protocol#protocol_types); a nullable struct
 * is an int8 marker (-1 null) then the struct, as Kafka's generated readers do; a tagged-field section is a uvarint
 * count, then per field uvarint tag, uvarint size and the value (KIP-482).
 */

export type SpanKind =
  | 'fixed'
  | 'bool'
  | 'int16-length'
  | 'int32-length'
  | 'uvarint-length'
  | 'presence'
  | 'tag-count'
  | 'tag'
  | 'tag-size'
  | 'content'

export interface FieldSpan {
  at: number
  width: number
  kind: SpanKind
}

/** The bytes do not fit the schema (only expected of mutated input; on a valid frame it is a finding). */
export class SchemaWalkError extends Error {}

const FIXED_WIDTH: Record<string, number> = {
  bool: 1,
  int8: 1,
  int16: 2,
  uint16: 2,
  int32: 4,
  uint32: 4,
  int64: 8,
  float64: 8,
  uuid: 16,
}

class Walker {
  pos: number
  constructor(
    readonly buf: Buffer,
    start: number,
    readonly end: number,
    readonly spans: FieldSpan[],
  ) {
    this.pos = start
  }

  need(n: number): void {
    if (n < 0 || this.end - this.pos < n) throw new SchemaWalkError(`needs ${n} bytes at ${this.pos}`)
  }

  span(width: number, kind: SpanKind): void {
    this.need(width)
    this.spans.push({ at: this.pos, width, kind })
    this.pos += width
  }

  uvarint(kind: SpanKind): number {
    const at = this.pos
    let value = 0
    for (let i = 0, scale = 1; i < 5; i++, scale *= 128) {
      this.need(1)
      const b = this.buf[this.pos++]!
      value += (b & 0x7f) * scale
      if ((b & 0x80) === 0) {
        this.spans.push({ at, width: this.pos - at, kind })
        return value
      }
    }
    throw new SchemaWalkError(`varint too long at ${at}`)
  }

  /** A length or count prefix; -1 for null. */
  length(compact: boolean, wide: boolean): number {
    if (compact) return this.uvarint('uvarint-length') - 1
    const at = this.pos
    if (wide) {
      this.span(4, 'int32-length')
      return this.buf.readInt32BE(at)
    }
    this.span(2, 'int16-length')
    return this.buf.readInt16BE(at)
  }

  struct(name: string, version: number): void {
    const schema = STRUCT_SCHEMAS[name]
    if (schema === undefined) throw new SchemaWalkError(`no schema for ${name}`)
    const flexible = inRange(schema.flexible, version)
    for (const f of schema.fields) if (inRange(f.versions, version)) this.field(f, f.type, version, flexible)
    if (flexible) this.taggedSection(schema.fields, version)
  }

  taggedSection(fields: readonly FieldSchema[], version: number): void {
    const count = this.uvarint('tag-count')
    for (let i = 0; i < count; i++) {
      const tag = this.uvarint('tag')
      const size = this.uvarint('tag-size')
      this.need(size)
      const end = this.pos + size
      const known = fields.find((f) => f.tag === tag && inRange(f.tagged, version))
      if (known === undefined) this.span(size, 'content')
      else {
        this.field(known, known.type, version, true)
        if (this.pos !== end) throw new SchemaWalkError(`tagged field ${tag} took ${this.pos - end + size} of ${size}`)
      }
    }
  }

  field(f: FieldSchema, type: TypeSchema, version: number, flexible: boolean): void {
    const compact = f.flexibleOverride === undefined ? flexible : inRange(f.flexibleOverride, version)
    const nullable = inRange(f.nullable, version)
    if (typeof type === 'string') {
      const width = FIXED_WIDTH[type]
      if (width !== undefined) {
        this.span(width, type === 'bool' ? 'bool' : 'fixed')
        return
      }
      const n = this.length(compact, type !== 'string')
      if (n < -1 || (n === -1 && !nullable)) throw new SchemaWalkError(`bad length ${n}`)
      if (n > 0) this.span(n, 'content')
      return
    }
    if ('struct' in type) {
      if (nullable) {
        const at = this.pos
        this.span(1, 'presence')
        if (this.buf.readInt8(at) < 0) return
      }
      this.struct(type.struct, version)
      return
    }
    const n = this.length(compact, true)
    if (n < -1 || (n === -1 && !nullable) || n > this.end - this.pos) throw new SchemaWalkError(`bad count ${n}`)
    const element: FieldSchema = { prop: f.prop, type: type.array, versions: f.versions, tagged: null, nullable: null }
    for (let i = 0; i < n; i++) this.field(element, type.array, version, compact)
  }
}

/**
 * The fields of struct `name` (a message, a header) at `version` encoded in buf[start, end), appended to `spans`;
 * returns where the struct ends. Throws SchemaWalkError when the bytes do not fit.
 */
export function locateFields(
  buf: Buffer,
  start: number,
  end: number,
  name: string,
  version: number,
  spans: FieldSpan[],
): number {
  const w = new Walker(buf, start, end, spans)
  w.struct(name, version)
  return w.pos
}
