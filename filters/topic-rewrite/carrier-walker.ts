import { API_DEFINITIONS, ApiKey } from '../../codec/messages/generated/apis.js'
import { STRUCT_SCHEMAS } from '../../codec/messages/generated/schema.js'
import { type FieldSchema, inRange, type TypeSchema } from '../../codec/messages/schema-types.js'

/**
 * Every field that carries a topic name, a group id or a transactional id, in any message, found from the generated
 * schema rather than a hand-kept list: fields with the spec's `entityType` topicName, groupId or transactionalId
 * (clients/src/main/resources/common/message/*.json; the README there defines entityType), string and []string alike,
 * and the resource names of the config and ACL APIs, which are typed by a sibling ResourceType field instead
 * (DescribeConfigsRequest.json ResourceType/ResourceName and friends). A carrier Kafka adds in a new version is found
 * without code changes; test/filters/topic-rewrite/carrier-walker.test.ts pins today's list.
 *
 * Also found: the `errorMessage` fields (and `...ErrorMessage`), whose text can name a topic, so a response can say
 * it with the client's name.
 */

export type NameKind = 'topic' | 'group' | 'txn'

const ENTITY_KINDS: Readonly<Record<string, NameKind>> = {
  topicName: 'topic',
  groupId: 'group',
  transactionalId: 'txn',
}

/** Bit per kind, so a plan can be cached per (struct, version, kinds). */
const KIND_BITS: Readonly<Record<NameKind, number>> = { topic: 1, group: 2, txn: 4 }

export function kindMask(kinds: Iterable<NameKind>): number {
  let m = 0
  for (const k of kinds) m |= KIND_BITS[k]
  return m
}

interface NameField {
  readonly prop: string
  readonly kind: NameKind
}

interface ResourceFields {
  readonly typeProp: string
  readonly nameProp: string
  readonly patternProp: string | undefined
}

interface ChildField {
  readonly prop: string
  readonly array: boolean
  /** The child struct's own plan (message layouts are not recursive, so plans form a tree). */
  readonly plan: StructPlan
}

export interface StructPlan {
  /** String fields holding a name. */
  readonly names: readonly NameField[]
  /** []string fields holding names. */
  readonly lists: readonly NameField[]
  /** A ResourceType + ResourceName pair (config and ACL APIs). */
  readonly resource: ResourceFields | undefined
  /** Error message fields of this struct. */
  readonly messages: readonly string[]
  readonly children: readonly ChildField[]
  /** True when a name can occur in this struct or below (not only messages). */
  readonly carriers: boolean
}

function childOf(t: TypeSchema): { struct: string; array: boolean } | undefined {
  if (typeof t === 'string') return undefined
  if ('struct' in t) return { struct: t.struct, array: false }
  const inner = t.array
  return typeof inner !== 'string' && 'struct' in inner ? { struct: inner.struct, array: true } : undefined
}

const present = (f: FieldSchema, version: number) => inRange(f.versions, version) || inRange(f.tagged, version)
const isStringList = (t: TypeSchema) => typeof t !== 'string' && 'array' in t && t.array === 'string'
const isMessage = (prop: string) => prop === 'errorMessage' || prop.endsWith('ErrorMessage')

/** Plans by struct name, then by `version << 3 | mask`: asked for every message walked, so no key string is built. */
const plans = new Map<string, Map<number, StructPlan | null>>()

/**
 * The walk plan of a struct at a version for the kinds in `mask`; null when neither a name of those kinds nor an
 * error message can occur in it or below.
 */
export function carrierPlan(structName: string, version: number, mask: number): StructPlan | null {
  let byVersion = plans.get(structName)
  if (byVersion === undefined) {
    byVersion = new Map()
    plans.set(structName, byVersion)
  }
  const key = (version << 3) | mask
  const cached = byVersion.get(key)
  if (cached !== undefined) return cached
  byVersion.set(key, null) // guards against cycles while computing
  const schema = STRUCT_SCHEMAS[structName]
  let plan: StructPlan | null = null
  if (schema !== undefined && inRange(schema.versions, version)) {
    const fields = schema.fields.filter((f) => present(f, version))
    const names: NameField[] = []
    const lists: NameField[] = []
    const messages: string[] = []
    const children: ChildField[] = []
    let carriers = false
    for (const f of fields) {
      const kind = f.entityType === undefined ? undefined : ENTITY_KINDS[f.entityType]
      if (kind !== undefined && (mask & KIND_BITS[kind]) !== 0) {
        if (f.type === 'string') names.push({ prop: f.prop, kind })
        else if (isStringList(f.type)) lists.push({ prop: f.prop, kind })
        continue
      }
      if (f.type === 'string' && isMessage(f.prop)) {
        messages.push(f.prop)
        continue
      }
      const c = childOf(f.type)
      if (c === undefined) continue
      const sub = carrierPlan(c.struct, version, mask)
      if (sub === null) continue
      children.push({ prop: f.prop, array: c.array, plan: sub })
      carriers ||= sub.carriers
    }
    const resource = resourceFields(fields)
    carriers ||= names.length > 0 || lists.length > 0 || resource !== undefined
    if (carriers || messages.length > 0 || children.length > 0) {
      plan = { names, lists, resource, messages, children, carriers }
    }
  }
  byVersion.set(key, plan)
  return plan
}

/**
 * ResourceType (int8) with ResourceName (string) in one struct: DescribeConfigs, AlterConfigs,
 * IncrementalAlterConfigs, ListConfigResources (v1+), CreateAcls, DescribeAcls, DeleteAcls; the filters of the ACL
 * APIs spell them ResourceTypeFilter/ResourceNameFilter/PatternTypeFilter, CreateAcls ResourcePatternType.
 */
function resourceFields(fields: readonly FieldSchema[]): ResourceFields | undefined {
  const type = fields.find((f) => f.type === 'int8' && /^resourceType(Filter)?$/.test(f.prop))
  const name = fields.find((f) => f.type === 'string' && /^resourceName(Filter)?$/.test(f.prop))
  if (type === undefined || name === undefined) return undefined
  const pattern = fields.find((f) => f.type === 'int8' && /^(resource)?[pP]atternType(Filter)?$/.test(f.prop))
  return { typeProp: type.prop, nameProp: name.prop, patternProp: pattern?.prop }
}

/** The kind of name a resource of this type (and pattern type) is, for an API; undefined: not a name we map. */
export type ResourceKindOf = (resourceType: number, patternType: number | undefined) => NameKind | undefined

/** ConfigResource.Type (kafka-clients org.apache.kafka.common.config.ConfigResource): TOPIC 2, GROUP 32. */
const CONFIG_RESOURCE_KINDS: ReadonlyMap<number, NameKind> = new Map([
  [2, 'topic'],
  [32, 'group'],
])
/** ResourceType (org.apache.kafka.common.resource.ResourceType): TOPIC 2, GROUP 3, TRANSACTIONAL_ID 5. */
const ACL_RESOURCE_KINDS: ReadonlyMap<number, NameKind> = new Map([
  [2, 'topic'],
  [3, 'group'],
  [5, 'txn'],
])
/**
 * PatternType (org.apache.kafka.common.resource.PatternType): ANY 1 and MATCH 2 (filters) and LITERAL 3 name one
 * resource; PREFIXED 4 names every resource starting with it, which a mapping of whole names cannot translate.
 */
const WHOLE_NAME_PATTERNS: ReadonlySet<number> = new Set([1, 2, 3])

const CONFIG_APIS: ReadonlySet<number> = new Set([
  ApiKey.DescribeConfigs,
  ApiKey.AlterConfigs,
  ApiKey.IncrementalAlterConfigs,
  ApiKey.ListConfigResources,
])
const ACL_APIS: ReadonlySet<number> = new Set([ApiKey.DescribeAcls, ApiKey.CreateAcls, ApiKey.DeleteAcls])

export function resourceKindsFor(apiKey: number): ResourceKindOf {
  if (CONFIG_APIS.has(apiKey)) return (type) => CONFIG_RESOURCE_KINDS.get(type)
  if (ACL_APIS.has(apiKey)) {
    return (type, pattern) =>
      pattern === undefined || WHOLE_NAME_PATTERNS.has(pattern) ? ACL_RESOURCE_KINDS.get(type) : undefined
  }
  return () => undefined
}

/** The root struct of a request or response of an API, or undefined for an API the codec does not know. */
export function messageStruct(apiKey: number, direction: 'request' | 'response'): string | undefined {
  const def = API_DEFINITIONS[apiKey]
  return def === undefined ? undefined : def[direction].name
}

/**
 * Whether a message of this API, version and direction can carry a name of the kinds in `mask`. Only APIs that
 * clients send to brokers count (the spec's listeners include broker): the controllers' and brokers' own RPCs never
 * pass a client's sidecar.
 */
export function carriesNames(
  apiKey: number,
  version: number,
  direction: 'request' | 'response',
  mask: number,
): boolean {
  // Asked for every message a canary connection sees: one number key, no string building.
  const key = (((apiKey * 256 + (version & 0xff)) * 2 + (direction === 'request' ? 0 : 1)) << 3) | mask
  let hit = carrierCache.get(key)
  if (hit === undefined) {
    const def = API_DEFINITIONS[apiKey]
    hit =
      def?.listeners.includes('broker') === true && carrierPlan(def[direction].name, version, mask)?.carriers === true
    carrierCache.set(key, hit)
  }
  return hit
}

const carrierCache = new Map<number, boolean>()

/** What the walk does with each name it meets. */
export interface NameTranslation {
  /**
   * The name to put in place of `name`; undefined when the client must not see it (responses): an element of an
   * array whose own name is hidden is left out, an entry of a []string too, and anywhere else the name stays.
   */
  translate(kind: NameKind, name: string): string | undefined
}

/** An error message field met during a walk, to be rewritten once every name of the message is known. */
export interface MessageField {
  readonly holder: Record<string, unknown>
  readonly prop: string
}

export interface WalkResult {
  modified: boolean
  readonly messages: MessageField[]
}

/**
 * Walks a decoded message (`body`, the struct `structName` at `version`), replacing names in place as
 * `translation` says. Returns whether anything changed and the error message fields it passed.
 */
export function walkNames(
  structName: string,
  version: number,
  body: unknown,
  mask: number,
  translation: NameTranslation,
  resourceKind: ResourceKindOf,
): WalkResult {
  const result: WalkResult = { modified: false, messages: [] }
  const plan = carrierPlan(structName, version, mask)
  if (plan !== null && body !== null && typeof body === 'object') {
    walkStruct(plan, body as Record<string, unknown>, version, mask, translation, resourceKind, result)
  }
  return result
}

/** Returns true when the struct's own name is hidden (its enclosing array then leaves it out). */
function walkStruct(
  plan: StructPlan,
  obj: Record<string, unknown>,
  version: number,
  mask: number,
  t: NameTranslation,
  resourceKind: ResourceKindOf,
  result: WalkResult,
): boolean {
  let hidden = false
  for (const f of plan.names) {
    const v = obj[f.prop]
    if (typeof v !== 'string') continue
    const out = t.translate(f.kind, v)
    if (out === undefined) hidden = true
    else if (out !== v) {
      obj[f.prop] = out
      result.modified = true
    }
  }
  for (const f of plan.lists) {
    const list = obj[f.prop]
    if (!Array.isArray(list)) continue
    let changed = false
    const out: string[] = []
    for (const v of list as string[]) {
      const m = typeof v === 'string' ? t.translate(f.kind, v) : v
      if (m !== v) changed = true
      if (m !== undefined) out.push(m)
    }
    if (changed) {
      obj[f.prop] = out
      result.modified = true
    }
  }
  const r = plan.resource
  if (r !== undefined) {
    const name = obj[r.nameProp]
    const pattern = r.patternProp === undefined ? undefined : (obj[r.patternProp] as number)
    const kind = resourceKind(obj[r.typeProp] as number, pattern)
    // '*' is the wildcard resource of ACLs (ResourcePattern.WILDCARD_RESOURCE), not a name.
    if (kind !== undefined && (mask & KIND_BITS[kind]) !== 0 && typeof name === 'string' && name !== '*') {
      const out = t.translate(kind, name)
      if (out === undefined) hidden = true
      else if (out !== name) {
        obj[r.nameProp] = out
        result.modified = true
      }
    }
  }
  for (const m of plan.messages) if (typeof obj[m] === 'string') result.messages.push({ holder: obj, prop: m })
  for (const c of plan.children) {
    const sub = c.plan
    const v = obj[c.prop]
    if (v === null || v === undefined) continue
    if (!c.array) {
      walkStruct(sub, v as Record<string, unknown>, version, mask, t, resourceKind, result)
      continue
    }
    const list = v as Record<string, unknown>[]
    let kept: Record<string, unknown>[] | undefined
    for (let i = 0; i < list.length; i++) {
      const drop = walkStruct(sub, list[i]!, version, mask, t, resourceKind, result)
      if (drop && kept === undefined) kept = list.slice(0, i)
      else if (!drop && kept !== undefined) kept.push(list[i]!)
    }
    if (kept !== undefined) {
      obj[c.prop] = kept
      result.modified = true
    }
  }
  return hidden
}

/**
 * Rewrites error messages: each broker name of `pairs` that stands alone in the text (not part of a longer name:
 * Kafka topic names are [a-zA-Z0-9._-], Topic.LEGAL_CHARS) becomes the client's name. Returns whether one changed.
 */
export function rewriteMessages(messages: readonly MessageField[], pairs: ReadonlyMap<string, string>): boolean {
  if (messages.length === 0 || pairs.size === 0) return false
  const reals = [...pairs.keys()].sort((a, b) => b.length - a.length)
  // A dot right after a name ends a sentence unless a name character follows it.
  const re = new RegExp(
    `(?<![A-Za-z0-9._-])(?:${reals.map(escapeRegExp).join('|')})(?![A-Za-z0-9_-])(?!\\.[A-Za-z0-9._-])`,
    'g',
  )
  let changed = false
  for (const m of messages) {
    const text = m.holder[m.prop] as string
    const out = text.replace(re, (real) => pairs.get(real) ?? real)
    if (out !== text) {
      m.holder[m.prop] = out
      changed = true
    }
  }
  return changed
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&')
}
