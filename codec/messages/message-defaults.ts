import type { ApiKeyNumber } from './frames.js'
import { API_DEFINITIONS, type RequestByApiKey, type ResponseByApiKey } from './generated/apis.js'
import { STRUCT_SCHEMAS } from './generated/schema.js'
import { type FieldSchema, inRange, type StructSchema, type TypeSchema } from './schema-types.js'

/**
 * Messages filled with their defaults, for any API and version, from the generated schema: the builders behind
 * error responses and the filter test support.
 *
 * A field's default is what Kafka's Java message classes hold before anything is set (Kafka's generator,
 * FieldSpec.fieldDefault): the spec's `default` where it gives one, else 0 / 0n / false, the zero uuid, '' for
 * strings and [] for arrays even where the version allows null, empty bytes, an empty struct (itself filled
 * with defaults), and null for records (empty where the version does not allow null). So `defaultResponse(k, v)` encodes to the same bytes as Java's
 * `new XResponseData()` written at version v. Tagged fields are left out: absent is how the wire says
 * "default" (Kafka writes a tagged field only when it differs from its default).
 */

/** The zero uuid (Uuid.ZERO_UUID) as the codec decodes uuids: 16 zero bytes, base64url without padding. */
export const ZERO_UUID = 'AAAAAAAAAAAAAAAAAAAAAA'

/** Every property optional, all the way down; arrays of structs take partial elements. */
export type DeepPartial<T> = T extends Buffer | bigint | string | number | boolean | null | undefined
  ? T
  : T extends readonly (infer E)[]
    ? DeepPartial<E>[]
    : { [P in keyof T]?: DeepPartial<T[P]> }

/** A builder was given something the message cannot hold (a typo, or a field of another version). */
export class MessageShapeError extends Error {
  readonly code = 'KSC_ERR_CODEC_MESSAGE_SHAPE'
  constructor(message: string) {
    super(message)
    this.name = 'MessageShapeError'
  }
}

export function structSchema(name: string): StructSchema {
  const s = STRUCT_SCHEMAS[name]
  if (s === undefined) throw new MessageShapeError(`no struct ${name} in the generated schema`)
  return s
}

/** The struct a field holds, directly or as array elements; undefined for primitive fields. */
export function structOf(type: TypeSchema): string | undefined {
  if (typeof type === 'string') return undefined
  if ('struct' in type) return type.struct
  return structOf(type.array)
}

/** True when the field is on the wire in this version, as a regular or a tagged field. */
export function fieldPresent(f: FieldSchema, version: number): boolean {
  return inRange(f.versions, version) || inRange(f.tagged, version)
}

/** The default value of one field (see the module comment); a struct is built fresh on every call. */
export function fieldDefault(f: FieldSchema, version: number): unknown {
  if (f.default !== undefined) return f.default
  // Java's null records cannot be written where the version does not allow null (FetchSnapshot's
  // UnalignedRecords); empty records can, and read back the same to every client.
  if (f.type === 'records' && !inRange(f.nullable, version)) return Buffer.alloc(0)
  return typeDefault(f.type, version)
}

function typeDefault(type: TypeSchema, version: number): unknown {
  if (typeof type !== 'string') return 'struct' in type ? defaultStruct(type.struct, version) : []
  switch (type) {
    case 'bool':
      return false
    case 'int64':
      return 0n
    case 'uuid':
      return ZERO_UUID
    case 'string':
      return ''
    case 'bytes':
      return Buffer.alloc(0)
    case 'records':
      return null
    default:
      return 0
  }
}

/** A struct of any message (by its generated TypeScript name) with every regular field of `version` at its default. */
export function defaultStruct(name: string, version: number): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const f of structSchema(name).fields) if (inRange(f.versions, version)) out[f.prop] = fieldDefault(f, version)
  return out
}

/**
 * A struct filled with defaults, with `overrides` merged in: nested structs merge field by field, arrays replace
 * the default but each struct element is itself completed with defaults. A property the struct does not have
 * in this version throws MessageShapeError; an undefined override is ignored. Tagged fields are set only when
 * given.
 */
export function buildStruct(
  name: string,
  version: number,
  overrides: unknown,
  base?: Record<string, unknown>,
): Record<string, unknown> {
  const out = base === undefined ? defaultStruct(name, version) : { ...base }
  if (overrides === undefined) return out
  if (overrides === null || typeof overrides !== 'object' || Array.isArray(overrides) || Buffer.isBuffer(overrides)) {
    throw new MessageShapeError(`${name} v${version}: expected an object of fields, got ${describe(overrides)}`)
  }
  const schema = structSchema(name)
  for (const [prop, value] of Object.entries(overrides as Record<string, unknown>)) {
    if (value === undefined) continue
    if (prop === '_unknownTaggedFields') {
      out[prop] = value
      continue
    }
    const f = schema.fields.find((x) => x.prop === prop)
    if (f === undefined || !fieldPresent(f, version)) {
      const known = schema.fields.filter((x) => fieldPresent(x, version)).map((x) => x.prop)
      throw new MessageShapeError(
        `${name} v${version} has no field ${prop}${f ? ' in this version' : ''}; its fields are: ${known.join(', ')}`,
      )
    }
    out[prop] = mergeValue(f.type, version, out[prop], value, `${name}.${prop}`)
  }
  return out
}

function mergeValue(type: TypeSchema, version: number, current: unknown, value: unknown, where: string): unknown {
  if (value === null || typeof type === 'string') return value
  if ('struct' in type) {
    // A struct merges into the current value (a default struct unless null), so a partial override keeps the rest.
    const base = current !== null && typeof current === 'object' ? (current as Record<string, unknown>) : undefined
    return buildStruct(type.struct, version, value, base)
  }
  if (!Array.isArray(value))
    throw new MessageShapeError(`${where} v${version}: expected an array, got ${describe(value)}`)
  const element = type.array
  if (typeof element === 'object' && 'struct' in element) {
    return value.map((v) => (v === null ? v : buildStruct(element.struct, version, v)))
  }
  return value
}

function describe(v: unknown): string {
  if (v === null) return 'null'
  if (Array.isArray(v)) return 'an array'
  if (Buffer.isBuffer(v)) return 'a Buffer'
  return typeof v
}

function messageName(apiKey: number, side: 'request' | 'response'): string {
  const api = API_DEFINITIONS[apiKey]
  if (api === undefined) throw new MessageShapeError(`unknown API key ${apiKey}`)
  return api[side].name
}

function checkVersion(apiKey: number, version: number, side: 'request' | 'response'): void {
  const codec = API_DEFINITIONS[apiKey]![side]
  if (version < codec.minVersion || version > codec.maxVersion) {
    throw new MessageShapeError(`${codec.name} has versions ${codec.minVersion}-${codec.maxVersion}, not ${version}`)
  }
}

/**
 * A request body of `apiKey` at `version` with every field at its default (see the module comment) and
 * `overrides` deep-merged in. The result encodes at that version (given overrides of the right types).
 */
export function defaultRequest<K extends ApiKeyNumber>(
  apiKey: K,
  version: number,
  overrides?: DeepPartial<RequestByApiKey[K]>,
): RequestByApiKey[K] {
  const name = messageName(apiKey, 'request')
  checkVersion(apiKey, version, 'request')
  return buildStruct(name, version, overrides) as unknown as RequestByApiKey[K]
}

/** A response body of `apiKey` at `version`, like defaultRequest. */
export function defaultResponse<K extends ApiKeyNumber>(
  apiKey: K,
  version: number,
  overrides?: DeepPartial<ResponseByApiKey[K]>,
): ResponseByApiKey[K] {
  const name = messageName(apiKey, 'response')
  checkVersion(apiKey, version, 'response')
  return buildStruct(name, version, overrides) as unknown as ResponseByApiKey[K]
}
