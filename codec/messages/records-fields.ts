import { API_DEFINITIONS } from './generated/apis.js'
import { STRUCT_SCHEMAS } from './generated/schema.js'
import { inRange, type TypeSchema } from './schema-types.js'

/**
 * Whether a message can carry `records` fields (record batches): found from the generated schemas, so a new API
 * with records is known without a hand-kept list. In Kafka 4.4 these are the Produce request and the Fetch,
 * ShareFetch and FetchSnapshot responses.
 */
const cache = new Map<number, boolean>()

export function hasRecordsFields(apiKey: number, side: 'request' | 'response', apiVersion: number): boolean {
  const api = API_DEFINITIONS[apiKey]
  if (api === undefined) return false
  // A number, not a string: asked per message on the data path. Versions stay far below 256.
  const key = (apiKey * 256 + (apiVersion & 0xff)) * 2 + (side === 'request' ? 0 : 1)
  let hit = cache.get(key)
  if (hit === undefined) {
    hit = structHasRecords(`${api.name}${side === 'request' ? 'Request' : 'Response'}`, apiVersion, new Set())
    cache.set(key, hit)
  }
  return hit
}

function structHasRecords(name: string, version: number, visiting: Set<string>): boolean {
  const schema = STRUCT_SCHEMAS[name]
  if (schema === undefined || visiting.has(name) || !inRange(schema.versions, version)) return false
  visiting.add(name)
  return schema.fields.some(
    (f) => (inRange(f.versions, version) || inRange(f.tagged, version)) && typeHasRecords(f.type, version, visiting),
  )
}

function typeHasRecords(type: TypeSchema, version: number, visiting: Set<string>): boolean {
  if (type === 'records') return true
  if (typeof type === 'string') return false
  if ('struct' in type) return structHasRecords(type.struct, version, visiting)
  return typeHasRecords(type.array, version, visiting)
}
