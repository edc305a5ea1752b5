import fc from 'fast-check'
import { STRUCT_SCHEMAS } from '../../../codec/messages/generated/schema.js'
import { type FieldSchema, inRange, type TypeSchema } from '../../../codec/messages/schema-types.js'

/**
 * fast-check arbitraries for any message at any version, built from the generated runtime schema:
 * every field present in that version gets a random value of its type (null where nullable, absent or
 * present where tagged), and flexible structs sometimes carry unknown tagged fields.
 */

const int = (bits: 8 | 16 | 32) => fc.integer({ min: -(2 ** (bits - 1)), max: 2 ** (bits - 1) - 1 })

function primitive(type: string): fc.Arbitrary<unknown> {
  switch (type) {
    case 'bool':
      return fc.boolean()
    case 'int8':
      return int(8)
    case 'int16':
      return int(16)
    case 'uint16':
      return fc.integer({ min: 0, max: 0xffff })
    case 'int32':
      return int(32)
    case 'uint32':
      return fc.integer({ min: 0, max: 0xffffffff })
    case 'int64':
      return fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n })
    case 'float64':
      return fc.double()
    case 'uuid':
      return fc.uint8Array({ minLength: 16, maxLength: 16 }).map((b) => Buffer.from(b).toString('base64url'))
    case 'string':
      return fc.string({ unit: 'grapheme', maxLength: 12 })
    case 'bytes':
    case 'records':
      return fc.uint8Array({ maxLength: 24 }).map((b) => Buffer.from(b))
    default:
      throw new Error(`no arbitrary for ${type}`)
  }
}

function valueArbitrary(type: TypeSchema, version: number, depth: number): fc.Arbitrary<unknown> {
  if (typeof type === 'string') return primitive(type)
  if ('struct' in type) return structArbitrary(type.struct, version, depth + 1)
  return fc.array(valueArbitrary(type.array, version, depth + 1), { maxLength: depth > 3 ? 1 : 3 })
}

function fieldArbitrary(f: FieldSchema, version: number, depth: number): fc.Arbitrary<unknown> {
  const value = valueArbitrary(f.type, version, depth)
  return inRange(f.nullable, version) ? fc.option(value, { nil: null, freq: 4 }) : value
}

/** Unknown tagged fields with tags no known field uses, in ascending order (the order Kafka writes). */
function unknownTagged(usedTags: Set<number>): fc.Arbitrary<{ tag: number; data: Buffer }[] | undefined> {
  return fc.option(
    fc
      .uniqueArray(fc.integer({ min: 0, max: 300 }), { minLength: 1, maxLength: 3 })
      .chain((tags) => {
        const free = tags.filter((t) => !usedTags.has(t)).sort((a, b) => a - b)
        return fc.tuple(
          ...free.map((tag) => fc.uint8Array({ maxLength: 8 }).map((d) => ({ tag, data: Buffer.from(d) }))),
        )
      })
      .map((fields) => (fields.length === 0 ? undefined : fields)),
    { nil: undefined, freq: 3 },
  )
}

export function structArbitrary(name: string, version: number, depth = 0): fc.Arbitrary<Record<string, unknown>> {
  const schema = STRUCT_SCHEMAS[name]
  if (!schema) throw new Error(`unknown struct ${name}`)
  const record: Record<string, fc.Arbitrary<unknown>> = {}
  const usedTags = new Set<number>()
  for (const f of schema.fields) {
    if (inRange(f.versions, version)) record[f.prop] = fieldArbitrary(f, version, depth)
    else if (inRange(f.tagged, version)) {
      usedTags.add(f.tag!)
      record[f.prop] = fc.option(fieldArbitrary(f, version, depth), { nil: undefined, freq: 2 })
    }
  }
  if (inRange(schema.flexible, version)) record._unknownTaggedFields = unknownTagged(usedTags)
  return fc.record(record).map((r) => {
    // Absent optional values are left out rather than set to undefined, like a hand-built message.
    for (const k of Object.keys(r)) if (r[k] === undefined) delete r[k]
    return r
  })
}
