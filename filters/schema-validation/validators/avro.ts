import avsc from 'avsc'
import { compileAvroSkip } from './avro-skip.js'
import { type CompiledSchema, errorText, SchemaCompileError, type SchemaReference } from './compiled-schema.js'

/**
 * Avro binary encoding (https://avro.apache.org/docs/1.11.1/specification/#binary-encoding), decoded with avsc's
 * compiled reader: a record is valid when it decodes and uses every byte of the payload. avsc throws on an
 * impossible union branch or enum symbol and reports a payload that ends early with offset -1
 * (avsc Type#decode). Referenced schemas (Confluent `references`) are parsed first into the same registry of named
 * types, so the main schema can name their types. A valid record is recognised without being decoded (avro-skip.ts:
 * several times faster, nothing allocated); anything else is decoded by avsc, whose verdict and words are the answer.
 */
export function compileAvro(source: string, references: readonly SchemaReference[] = []): CompiledSchema {
  const registry: Record<string, avsc.Type> = {}
  let type: avsc.Type
  try {
    for (const ref of references) avsc.Type.forSchema(JSON.parse(ref.source) as avsc.Schema, { registry })
    type = avsc.Type.forSchema(JSON.parse(source) as avsc.Schema, { registry })
  } catch (err) {
    throw new SchemaCompileError(`not a usable Avro schema: ${errorText(err)}`)
  }
  const name = type.name ?? type.typeName
  const skip = compileAvroSkip(type)
  return {
    format: 'avro',
    check(payload) {
      if (skip !== undefined && skip(payload, 0) === payload.length) return undefined
      let decoded: { offset: number }
      try {
        decoded = type.decode(payload, 0)
      } catch (err) {
        return `not a valid Avro ${name}: ${errorText(err)}`
      }
      if (decoded.offset < 0) return `not a valid Avro ${name}: the ${payload.length} byte(s) end in the middle of it`
      if (decoded.offset !== payload.length) {
        return `not a valid Avro ${name}: ${payload.length - decoded.offset} byte(s) left after it`
      }
      return undefined
    },
    validAt: skip === undefined ? undefined : (buf, start, end) => skip(buf, start, end) === end,
    recordName: () => type.name,
  }
}
