import { STRUCT_SCHEMAS } from '../../codec/messages/generated/schema.js'
import { type FieldSchema, inRange, type TypeSchema } from '../../codec/messages/schema-types.js'

/**
 * Finds every broker endpoint (a struct with a `host` and a `port`) in any message, from the generated schema
 * rather than a hand-kept list, so that a carrier Kafka adds in a new version is found without code changes.
 * Today that is Metadata Brokers, FindCoordinator (v0-3 top level and v4+ Coordinators), DescribeCluster
 * Brokers, the KIP-951 NodeEndpoints of Produce (v10+) and Fetch (v16+), ShareFetch/ShareAcknowledge
 * NodeEndpoints, DescribeQuorum v2 Nodes[].Listeners and the Raft RPCs' NodeEndpoints; a test pins the list.
 *
 * The node id of an endpoint is its own `nodeId`/`brokerId` field, or the nearest enclosing struct's
 * (DescribeQuorum puts Listeners under a node).
 */

export interface Endpoint {
  host: string
  port: number
  rack?: string | null
}

export type EndpointVisitor = (nodeId: number, endpoint: Endpoint) => void

const ID_FIELDS = ['nodeId', 'brokerId', 'leaderId']

interface StructPlan {
  /** Property holding this struct's node id, if it has one. */
  idProp: string | undefined
  /** True when the struct itself is a broker endpoint. */
  isEndpoint: boolean
  /** Fields leading to endpoints. */
  children: { prop: string; array: boolean; struct: string; hasId: boolean }[]
}

const present = (f: FieldSchema, version: number) => inRange(f.versions, version) || inRange(f.tagged, version)

function structOf(t: TypeSchema): { struct: string; array: boolean } | undefined {
  if (typeof t === 'string') return undefined
  if ('struct' in t) return { struct: t.struct, array: false }
  const inner = t.array
  return typeof inner !== 'string' && 'struct' in inner ? { struct: inner.struct, array: true } : undefined
}

const planCache = new Map<string, StructPlan | null>()

/**
 * The walk plan for a struct at a version; null when no endpoint can occur under it. Only host/port structs with
 * a node id (their own or an enclosing struct's) are broker endpoints: Kafka Streams' user endpoints
 * (StreamsGroupHeartbeat/Describe, KIP-1071) also have host and port but name application instances, which the
 * sidecar must leave alone. `parentHasId` says whether an enclosing struct carries a node id.
 */
export function endpointPlan(structName: string, version: number, parentHasId = false): StructPlan | null {
  const key = `${structName}@${version}@${parentHasId}`
  const cached = planCache.get(key)
  if (cached !== undefined) return cached
  planCache.set(key, null) // guards against cycles while computing
  const schema = STRUCT_SCHEMAS[structName]
  let plan: StructPlan | null = null
  if (schema && inRange(schema.versions, version)) {
    const fields = schema.fields.filter((f) => present(f, version))
    const has = (prop: string) => fields.some((f) => f.prop === prop)
    const idProp = ID_FIELDS.find((p) => fields.some((f) => f.prop === p && f.type === 'int32'))
    const hasId = idProp !== undefined || parentHasId
    const isEndpoint = hasId && has('host') && has('port')
    const children: StructPlan['children'] = []
    for (const f of fields) {
      const s = structOf(f.type)
      if (s && endpointPlan(s.struct, version, hasId) !== null) children.push({ prop: f.prop, ...s, hasId })
    }
    if (isEndpoint || children.length > 0) plan = { idProp, isEndpoint, children }
  }
  planCache.set(key, plan)
  return plan
}

/** Calls `visit` for every endpoint in `message` (a decoded struct named `structName` at `version`). */
export function visitEndpoints(structName: string, version: number, message: unknown, visit: EndpointVisitor): void {
  walk(structName, version, message as Record<string, unknown>, -1, false, visit)
}

function walk(
  structName: string,
  version: number,
  obj: Record<string, unknown> | null | undefined,
  parentId: number,
  parentHasId: boolean,
  visit: EndpointVisitor,
): void {
  if (obj === null || obj === undefined) return
  const plan = endpointPlan(structName, version, parentHasId)
  if (plan === null) return
  const id = plan.idProp !== undefined ? (obj[plan.idProp] as number) : parentId
  if (plan.isEndpoint && id >= 0 && typeof obj.host === 'string') visit(id, obj as unknown as Endpoint)
  for (const c of plan.children) {
    const v = obj[c.prop]
    if (!c.array) walk(c.struct, version, v as Record<string, unknown> | null | undefined, id, c.hasId, visit)
    else if (Array.isArray(v))
      for (const e of v) walk(c.struct, version, e as Record<string, unknown>, id, c.hasId, visit)
  }
}

const tagCache = new Map<string, ReadonlySet<number> | 'always'>()

/**
 * Where a message's endpoints can be: 'always' when some path to them is a regular field (Metadata brokers), or the
 * tags of the top-level tagged fields that lead to them (KIP-951 NodeEndpoints, tag 0 in Produce and Fetch
 * responses). In the second case a scan of the top-level tags tells whether a decode is needed at all.
 */
export function endpointTags(structName: string, version: number): ReadonlySet<number> | 'always' {
  const key = `${structName}@${version}`
  let hit = tagCache.get(key)
  if (hit !== undefined) return hit
  const plan = endpointPlan(structName, version)
  const schema = STRUCT_SCHEMAS[structName]
  const tags = new Set<number>()
  hit = plan === null ? tags : plan.isEndpoint ? 'always' : tags
  if (plan !== null && hit !== 'always') {
    for (const c of plan.children) {
      const f = schema?.fields.find((x) => x.prop === c.prop)
      if (f === undefined || inRange(f.versions, version) || f.tag === undefined) {
        hit = 'always'
        break
      }
      tags.add(f.tag)
    }
  }
  tagCache.set(key, hit)
  return hit
}
