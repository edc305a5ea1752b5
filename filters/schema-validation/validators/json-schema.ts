import { Ajv, type AnySchema, type ErrorObject, type ValidateFunction } from 'ajv'
import { Ajv2019 } from 'ajv/dist/2019.js'
import { Ajv2020 } from 'ajv/dist/2020.js'
import addFormatsModule from 'ajv-formats'
import { type CompiledSchema, errorText, SchemaCompileError, type SchemaReference } from './compiled-schema.js'
import { compileJsonSkip, type JsonSkip } from './json-skip.js'

// ajv-formats is CommonJS with its function as module.exports and as .default; NodeNext sees the module object.
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as unknown as (
  ajv: Ajv,
) => Ajv

/**
 * JSON Schema with ajv, compiled once per schema into a validating function. The dialect follows `$schema`:
 * 2019-09 and 2020-12 get ajv's classes for them, anything else (draft-07, draft-06, none) the default class.
 * Formats (date-time, email, uuid, ...) come from ajv-formats. Referenced schemas (Confluent `references`) are added
 * under the name the main schema's `$ref` uses. The payload is UTF-8 JSON text (Confluent's JSON Schema serializer
 * writes the JSON document after the framing). A valid record is recognised without being parsed (json-skip.ts: a walk
 * over its bytes along the schema, nothing built; on 1 KiB orders a fraction of the cost of JSON.parse + ajv, see
 * bench/json-check-cost.ts) when the schema uses only the keywords the walk knows; anything else is parsed and
 * checked by ajv, whose verdict and words are the answer. The walk also reads a value where it lies in its batch (validAt), so a valid record costs no view.
 */
export function compileJsonSchema(source: string, references: readonly SchemaReference[] = []): CompiledSchema {
  let validate: ValidateFunction
  let title: string | undefined
  let skip: JsonSkip | undefined
  try {
    const schema = JSON.parse(source) as AnySchema
    const ajv = ajvFor(schema)
    for (const ref of references) ajv.addSchema(JSON.parse(ref.source) as AnySchema, ref.name)
    validate = ajv.compile(schema)
    skip = compileJsonSkip(schema, ajv)
    const t = typeof schema === 'object' && schema !== null ? (schema as { title?: unknown }).title : undefined
    title = typeof t === 'string' ? t : undefined
  } catch (err) {
    throw new SchemaCompileError(`not a usable JSON Schema: ${errorText(err)}`)
  }
  return {
    format: 'json-schema',
    check(payload) {
      if (skip?.(payload, 0, payload.length)) return undefined
      let doc: unknown
      try {
        doc = JSON.parse(payload.toString('utf8'))
      } catch (err) {
        return `not JSON: ${errorText(err)}`
      }
      if (validate(doc)) return undefined
      return describe(validate.errors?.[0])
    },
    validAt: skip === undefined ? undefined : (buf, start, end) => skip(buf, start, end),
    recordName: () => title,
  }
}

/** The ajv instance a schema is compiled with: the class of its dialect, the options, ajv-formats' formats. */
export function ajvFor(schema: AnySchema): Ajv {
  const dialect = typeof schema === 'object' && schema !== null ? (schema as { $schema?: unknown }).$schema : undefined
  const options = { allErrors: false, strict: false, validateFormats: true }
  const ajv =
    typeof dialect === 'string' && dialect.includes('2020-12')
      ? new Ajv2020(options)
      : typeof dialect === 'string' && dialect.includes('2019-09')
        ? new Ajv2019(options)
        : new Ajv(options)
  addFormats(ajv as Ajv)
  return ajv as Ajv
}

function describe(e: ErrorObject | undefined): string {
  if (e === undefined) return 'does not match the schema'
  const where = e.instancePath === '' ? '/' : e.instancePath
  const extra =
    e.keyword === 'additionalProperties'
      ? ` (${String((e.params as { additionalProperty?: unknown }).additionalProperty)})`
      : e.keyword === 'enum'
        ? `: ${JSON.stringify((e.params as { allowedValues?: unknown }).allowedValues)}`
        : ''
  return `${where} ${e.message ?? 'does not match the schema'}${extra}`
}
