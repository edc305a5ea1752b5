import type { ApiKeyNumber } from './frames.js'
import { API_DEFINITIONS, ApiKey, type RequestByApiKey, type ResponseByApiKey } from './generated/apis.js'
import { ErrorCode } from './generated/error-codes.js'
import { defaultStruct, fieldDefault, MessageShapeError, structOf, structSchema } from './message-defaults.js'
import { type FieldSchema, inRange } from './schema-types.js'

/**
 * The response a broker would send if it rejected a whole request with one error, for every API and version
 * the codec knows, derived from the generated schema (the model is Kafka's AbstractRequest.getErrorResponse in
 * each clients/.../common/requests/*Request.java):
 *
 * - every error code field the version carries is the code: top level and in every mirrored element (per
 *   topic, partition, resource, group, member, transaction...); every error message field is the message
 *   (null when none is given, which is what Kafka's ApiError sends for an error's default message);
 * - the request's topics, partitions, resources, groups... are mirrored: each response array whose elements
 *   carry an error is filled with one element per element of the request array it answers, with the keys the
 *   client matches on copied (name or topic id, partition index, resource type and name, group id, member id);
 * - throttle_time_ms is 0 and every other field holds its default (message-defaults.ts).
 *
 * Response arrays are matched to request arrays by structure: same property name, or the only request array at
 * that level whose elements share a key with the response's (a key is a field of the same name and type in a
 * list of identity names, a field of the same entityType, or a partition index under any of its names); arrays
 * of plain values (groups as strings, partitions as int32) fill the response element's key of the same
 * entityType or partition-index name. SOURCES (which request array a response array answers) and OVERRIDES
 * (values other than the default) list what the schema cannot tell, each with its reason.
 *
 * Where this says more than Kafka's getErrorResponse, on purpose (test/codec/messages/java-interop.test.ts
 * checks the rest against Kafka's own classes):
 * - Kafka answers some APIs at the top level only (Fetch v13+, OffsetFetch v2+, LeaveGroup v3+, OffsetDelete,
 *   AddPartitionsToTxn v4+, ShareFetch, ShareAcknowledge, the share-group offset APIs, UpdateFeatures, and the
 *   broker-to-controller and raft RPCs); here every part the request names is answered as well, so a client
 *   that reads the parts finds its error there too.
 * - The given message goes into every error message field; Kafka puts the error's default message into some
 *   (DescribeConfigs, FindCoordinator, AlterClientQuotas, ...) and none into others (DescribeGroups v6,
 *   DeleteTopics v5+, ...). Without a message the fields are null, and clients show the default message.
 * - DescribeUserScramCredentials results name their user (Kafka leaves it empty).
 */

/** Field names that identify an element, when the request element carries the same name and type. */
const IDENTITY_PROPS = new Set([
  'topicId',
  'id',
  'resourceType',
  'resourceName',
  'memberId',
  'groupInstanceId',
  'key',
  'feature',
  'entityType',
  'entityName',
  'producerId',
  'subtopologyId',
])

/** entityTypes whose fields name an element (Kafka's spec tags these on every topic name, group id, txn id). */
const KEY_ENTITIES = new Set(['topicName', 'groupId', 'transactionalId'])

/** One partition index under every name the specs give it. */
const PARTITION_PROPS = new Set(['partitionIndex', 'partition', 'index', 'partitionId'])

const isErrorCode = (f: FieldSchema) => f.type === 'int16' && /(^e|E)rrorCode$/.test(f.prop)
const isErrorMessage = (f: FieldSchema) => f.type === 'string' && /(^e|E)rrorMessage$/.test(f.prop)

interface StructPlan {
  readonly name: string
  readonly errorCodes: readonly string[]
  readonly errorMessages: readonly { readonly prop: string; readonly nullable: boolean }[]
  /** Response property <- request property of the matched request element. */
  readonly copies: readonly Copy[]
  readonly arrays: readonly ArrayPlan[]
}

/** A key copied from the request element; a null where the response cannot hold null becomes its default. */
interface Copy {
  readonly to: string
  readonly from: string
  readonly nullDefault?: unknown
}

interface ArrayPlan {
  readonly prop: string
  readonly element: StructPlan
  /** The request array it answers, in the matched request struct. */
  readonly from: string
  /** For a request array of plain values: the response element field that receives each value. */
  readonly valueKey?: string
}

/**
 * A response array whose request array the schema cannot tell, by response struct and property: `from` names
 * the request array it answers, `copies` adds response <- request field pairs to its elements.
 */
interface Source {
  readonly from: string
  readonly copies?: readonly (readonly [to: string, from: string])[]
  readonly why: string
}

export const SOURCES: Readonly<Record<string, Readonly<Record<string, Source>>>> = {
  FetchResponse: {
    responses: {
      from: 'topics',
      why: 'v7+ also has forgottenTopicsData with the same keys: topics leaving the fetch session, which get no answer',
    },
  },
  ShareFetchResponse: {
    responses: { from: 'topics', why: 'the same as Fetch: forgottenTopicsData gets no answer' },
  },
  CreateAclsResponse: {
    results: {
      from: 'creations',
      why: 'results carry no key: one per creation, in order (CreateAclsRequest.getErrorResponse)',
    },
  },
  DeleteAclsResponse: {
    filterResults: {
      from: 'filters',
      why: 'results carry no key: one per filter, in order (DeleteAclsRequest.getErrorResponse)',
    },
  },
  DescribeUserScramCredentialsResponse: {
    results: {
      from: 'users',
      copies: [['user', 'name']],
      why: 'one result per user asked about; the request calls the user "name", the response "user"',
    },
  },
  AlterClientQuotasResponse: {
    entries: {
      from: 'entries',
      why: 'an entry is keyed by its entity list, not by a field (AlterClientQuotasRequest.getErrorResponse)',
    },
  },
}

type Body = Record<string, unknown>

/** What an error response is built with. */
interface Fill {
  readonly version: number
  readonly code: number
  readonly message: string | null
}

/** An API-specific change to the generic result, applied after it; `why` is the fact the schema lacks. */
interface Override {
  readonly versions?: readonly [number, number]
  readonly why: string
  apply(response: Body, request: Body, fill: Fill): void
}

/** Calls `fn` on every struct at `path` below `body`, stepping through arrays (a missing step yields nothing). */
function each(body: Body, path: readonly string[], fn: (s: Body) => void): void {
  if (path.length === 0) {
    fn(body)
    return
  }
  const next = body[path[0]!]
  const rest = path.slice(1)
  if (Array.isArray(next)) for (const x of next) each(x as Body, rest, fn)
  else if (next !== null && typeof next === 'object') each(next as Body, rest, fn)
}

/** Sets fields that the version carries (`key in s`) on every struct at `path`. */
function setAt(path: readonly string[], values: Body): Override['apply'] {
  return (res) =>
    each(res, path, (s) => {
      for (const [k, v] of Object.entries(values)) if (k in s) s[k] = v
    })
}

/** A response struct with its errors set and nothing mirrored, for overrides that fill the keys themselves. */
function unkeyed(name: string, fill: Fill): Body {
  return build(planStruct(name, undefined, fill.version, false), undefined, fill)
}

const NO_FILL: Fill = { version: 0, code: 0, message: null }

/**
 * Where the schema cannot tell what a broker sends, applied after the generic result. Each entry cites its
 * source: clients/src/main/java/org/apache/kafka/common/requests/<Api>Request.java, getErrorResponse, and the
 * constants it uses. Most are "unknown" sentinels (-1) where the spec's default is 0.
 */
export const OVERRIDES: Readonly<Partial<Record<ApiKeyNumber, readonly Override[]>>> = {
  [ApiKey.Produce]: [
    {
      why: 'offsets are -1 (INVALID_OFFSET, RecordBatch.NO_TIMESTAMP), not the spec default 0',
      apply: setAt(['responses', 'partitionResponses'], { baseOffset: -1n, logAppendTimeMs: -1n, logStartOffset: -1n }),
    },
  ],
  [ApiKey.Fetch]: [
    {
      why: 'the high watermark is -1 (INVALID_HIGH_WATERMARK) and records are empty, not absent (FetchResponse.partitionResponse)',
      apply: setAt(['responses', 'partitions'], { highWatermark: -1n, records: Buffer.alloc(0) }),
    },
    {
      versions: [7, 0x7fff],
      why: 'the response carries the fetch session id of the request',
      apply(res, req) {
        res.sessionId = req.sessionId
      },
    },
  ],
  [ApiKey.ListOffsets]: [
    {
      why: 'timestamp and offset are -1 (ListOffsetsResponse.UNKNOWN_TIMESTAMP, UNKNOWN_OFFSET), not 0',
      apply: setAt(['topics', 'partitions'], { timestamp: -1n, offset: -1n }),
    },
  ],
  [ApiKey.OffsetFetch]: [
    {
      why: 'the committed offset is -1 (OffsetFetchResponse.INVALID_OFFSET), not 0',
      apply(res) {
        setAt(['topics', 'partitions'], { committedOffset: -1n })(res, {}, NO_FILL)
        setAt(['groups', 'topics', 'partitions'], { committedOffset: -1n })(res, {}, NO_FILL)
      },
    },
  ],
  [ApiKey.FindCoordinator]: [
    {
      why: 'the coordinator is Node.noNode(): node id and port -1 (FindCoordinatorResponse.prepare*Response)',
      apply(res) {
        setAt([], { nodeId: -1, port: -1 })(res, {}, NO_FILL)
        setAt(['coordinators'], { nodeId: -1, port: -1 })(res, {}, NO_FILL)
      },
    },
  ],
  [ApiKey.JoinGroup]: [
    {
      versions: [7, 0x7fff],
      why: 'the protocol name is null from v7, where it became nullable',
      apply: setAt([], { protocolName: null }),
    },
  ],
  [ApiKey.ApiVersions]: [
    {
      why: "UNSUPPORTED_VERSION lists ApiVersions' own versions, so the client can retry with one it shares (KIP-511)",
      apply(res, _req, { code }) {
        if (code !== ErrorCode.UNSUPPORTED_VERSION) return
        const codec = API_DEFINITIONS[ApiKey.ApiVersions]!.request
        res.apiKeys = [{ apiKey: ApiKey.ApiVersions, minVersion: codec.minVersion, maxVersion: codec.maxVersion }]
      },
    },
  ],
  [ApiKey.DeleteRecords]: [
    {
      why: 'the low watermark is -1 (DeleteRecordsResponse.INVALID_LOW_WATERMARK), not 0',
      apply: setAt(['topics', 'partitions'], { lowWatermark: -1n }),
    },
  ],
  [ApiKey.InitProducerId]: [
    {
      why: 'the producer epoch is -1 (RecordBatch.NO_PRODUCER_EPOCH), not 0',
      apply: setAt([], { producerEpoch: -1 }),
    },
  ],
  [ApiKey.CreateDelegationToken]: [
    {
      why: 'owner and requester are KafkaPrincipal.ANONYMOUS (User:ANONYMOUS), times -1 (CreateDelegationTokenResponse.prepareResponse)',
      apply: setAt([], {
        principalType: 'User',
        principalName: 'ANONYMOUS',
        tokenRequesterPrincipalType: 'User',
        tokenRequesterPrincipalName: 'ANONYMOUS',
        issueTimestampMs: -1n,
        expiryTimestampMs: -1n,
        maxTimestampMs: -1n,
      }),
    },
  ],
  [ApiKey.DescribeClientQuotas]: [
    {
      why: 'entries are null, not empty: no answer rather than "no quotas"',
      apply: setAt([], { entries: null }),
    },
  ],
  [ApiKey.AlterReplicaLogDirs]: [
    {
      why: 'results are per topic of every log dir, flattened: the request groups topics under dirs, the response does not',
      apply(res, req, fill) {
        res.results = (req.dirs as Body[]).flatMap((dir) =>
          (dir.topics as Body[]).map((topic) => ({
            ...unkeyed('AlterReplicaLogDirsResponseAlterReplicaLogDirTopicResult', fill),
            topicName: topic.name,
            partitions: (topic.partitions as number[]).map((partitionIndex) => ({
              ...unkeyed('AlterReplicaLogDirsResponseAlterReplicaLogDirPartitionResult', fill),
              partitionIndex,
            })),
          })),
        )
      },
    },
  ],
  [ApiKey.AlterUserScramCredentials]: [
    {
      why: 'one result per user named by a deletion or an upsertion, each user once, sorted by name',
      apply(res, req, fill) {
        const names = [...(req.deletions as Body[]), ...(req.upsertions as Body[])].map((x) => x.name as string)
        res.results = [...new Set(names)].sort().map((user) => ({
          ...unkeyed('AlterUserScramCredentialsResponseAlterUserScramCredentialsResult', fill),
          user,
        }))
      },
    },
  ],
  [ApiKey.ListPartitionReassignments]: [
    {
      why: 'the topics and partitions asked about are listed (no reassignment data) although they carry no error field',
      apply(res, req, { version }) {
        if (!Array.isArray(req.topics)) return
        res.topics = (req.topics as Body[]).map((t) => ({
          ...defaultStruct('ListPartitionReassignmentsResponseOngoingTopicReassignment', version),
          name: t.name,
          partitions: (t.partitionIndexes as number[]).map((partitionIndex) => ({
            ...defaultStruct('ListPartitionReassignmentsResponseOngoingPartitionReassignment', version),
            partitionIndex,
          })),
        }))
      },
    },
  ],
}

// ---------------------------------------------------------------- planning (once per API and version)

function regularFields(name: string, version: number): FieldSchema[] {
  return structSchema(name).fields.filter((f) => inRange(f.versions, version))
}

function partitionField(f: FieldSchema): boolean {
  return f.type === 'int32' && PARTITION_PROPS.has(f.prop)
}

/** Response field <- request field pairs that identify the element. */
function identityPairs(resName: string, reqName: string, version: number): [string, string][] {
  const res = regularFields(resName, version)
  const req = regularFields(reqName, version)
  const pairs: [string, string][] = []
  for (const rf of res) {
    if (typeof rf.type !== 'string' || isErrorCode(rf) || isErrorMessage(rf)) continue
    const same = req.find((qf) => qf.prop === rf.prop && qf.type === rf.type)
    if (same && (IDENTITY_PROPS.has(rf.prop) || KEY_ENTITIES.has(rf.entityType ?? ''))) {
      pairs.push([rf.prop, same.prop])
      continue
    }
    if (partitionField(rf)) {
      const qf = req.filter(partitionField)
      if (qf.length === 1) pairs.push([rf.prop, qf[0]!.prop])
      continue
    }
    if (rf.entityType && KEY_ENTITIES.has(rf.entityType)) {
      const qf = req.filter((q) => q.entityType === rf.entityType && q.type === rf.type)
      const rfs = res.filter((r) => r.entityType === rf.entityType && r.type === rf.type)
      if (qf.length === 1 && rfs.length === 1) pairs.push([rf.prop, qf[0]!.prop])
    }
  }
  return pairs
}

/** True when the struct (or anything inside it) has an error code field in this version. */
function carriesErrors(name: string, version: number, seen = new Set<string>()): boolean {
  if (seen.has(name)) return false
  seen.add(name)
  return regularFields(name, version).some((f) => {
    if (isErrorCode(f)) return true
    const inner = structOf(f.type)
    return inner !== undefined && typeof f.type === 'object' && 'array' in f.type && carriesErrors(inner, version, seen)
  })
}

/** The response element field a plain request value fills: same entityType, or a partition index. */
function valueKeyFor(elementName: string, reqField: FieldSchema, version: number): string | undefined {
  const elementType = (reqField.type as { array: unknown }).array
  if (typeof elementType !== 'string') return undefined
  const fields = regularFields(elementName, version).filter((f) => f.type === elementType)
  if (reqField.entityType) {
    const byEntity = fields.filter((f) => f.entityType === reqField.entityType)
    if (byEntity.length === 1) return byEntity[0]!.prop
  }
  if (elementType === 'int32' && /^partition/.test(reqField.prop)) {
    const byIndex = fields.filter(partitionField)
    if (byIndex.length === 1) return byIndex[0]!.prop
  }
  // coordinatorKeys -> key: the request array is named after the element field, pluralised.
  const byName = fields.filter((f) => reqField.prop.toLowerCase().endsWith(`${f.prop.toLowerCase()}s`))
  return byName.length === 1 ? byName[0]!.prop : undefined
}

const plans = new Map<string, StructPlan>()

/**
 * The plan for one response struct answering one request struct (undefined: nothing to mirror). At the root
 * nothing is copied: top-level fields of a response are results (a member id, a producer id), not keys.
 */
function planStruct(
  resName: string,
  reqName: string | undefined,
  version: number,
  root: boolean,
  extraCopies: readonly (readonly [string, string])[] = [],
): StructPlan {
  const cacheKey = `${resName}/${reqName ?? ''}/${version}/${root}/${extraCopies.join(';')}`
  const cached = plans.get(cacheKey)
  if (cached) return cached
  const fields = regularFields(resName, version)
  const reqFields = reqName === undefined ? [] : regularFields(reqName, version)
  const arrays: ArrayPlan[] = []
  const usedSources = new Set<string>()
  for (const f of fields) {
    const element = structOf(f.type)
    if (element === undefined || typeof f.type !== 'object' || !('array' in f.type)) continue
    const explicit = SOURCES[resName]?.[f.prop]
    let source: { from: string; valueKey?: string } | undefined
    if (explicit !== undefined) source = { from: explicit.from }
    else if (carriesErrors(element, version)) source = findSource(f, element, reqFields, version, usedSources)
    else source = keyList(f, element, reqFields, version)
    if (source === undefined || !reqFields.some((q) => q.prop === source.from)) continue
    usedSources.add(source.from)
    const reqElement =
      source.valueKey === undefined ? structOf(reqFields.find((q) => q.prop === source.from)!.type) : undefined
    arrays.push({
      prop: f.prop,
      element: planStruct(element, reqElement, version, false, explicit?.copies),
      ...source,
    })
  }
  const plan: StructPlan = {
    name: resName,
    errorCodes: fields.filter(isErrorCode).map((f) => f.prop),
    errorMessages: fields.filter(isErrorMessage).map((f) => ({ prop: f.prop, nullable: inRange(f.nullable, version) })),
    copies:
      root || reqName === undefined
        ? []
        : [...identityPairs(resName, reqName, version), ...extraCopies].map(([to, from]) =>
            copyOf(fields, to, from, version),
          ),
    arrays,
  }
  plans.set(cacheKey, plan)
  return plan
}

function copyOf(fields: FieldSchema[], to: string, from: string, version: number): Copy {
  const f = fields.find((x) => x.prop === to)!
  // Metadata v10-11 requests may name a topic by id only (name null); the response's name is not nullable
  // before v12, and Kafka answers "" (MetadataRequest.getErrorResponse).
  return inRange(f.nullable, version) ? { to, from } : { to, from, nullDefault: fieldDefault(f, version) }
}

/**
 * An array without errors is mirrored only when it is a list of keys: a request array of the same name whose
 * elements map onto every field of the response's (AlterClientQuotas' entity list).
 */
function keyList(
  resField: FieldSchema,
  element: string,
  reqFields: FieldSchema[],
  version: number,
): { from: string } | undefined {
  const q = reqFields.find((x) => x.prop === resField.prop)
  const reqElement = q && structOf(q.type)
  if (reqElement === undefined) return undefined
  const pairs = identityPairs(element, reqElement, version)
  return pairs.length > 0 && pairs.length === regularFields(element, version).length ? { from: q!.prop } : undefined
}

function findSource(
  resField: FieldSchema,
  element: string,
  reqFields: FieldSchema[],
  version: number,
  used: Set<string>,
): { from: string; valueKey?: string } | undefined {
  const candidates: { from: string; valueKey?: string; sameName: boolean }[] = []
  for (const q of reqFields) {
    if (used.has(q.prop) || typeof q.type !== 'object' || !('array' in q.type)) continue
    const reqElement = structOf(q.type)
    if (reqElement !== undefined) {
      if (identityPairs(element, reqElement, version).length > 0)
        candidates.push({ from: q.prop, sameName: q.prop === resField.prop })
    } else {
      const valueKey = valueKeyFor(element, q, version)
      if (valueKey !== undefined) candidates.push({ from: q.prop, valueKey, sameName: q.prop === resField.prop })
    }
  }
  const pick = candidates.find((c) => c.sameName) ?? (candidates.length === 1 ? candidates[0] : undefined)
  if (pick === undefined && candidates.length > 1) {
    throw new MessageShapeError(
      `${element} v${version}: several request arrays could answer ${resField.prop} (${candidates.map((c) => c.from).join(', ')}); add an override`,
    )
  }
  return pick && (pick.valueKey === undefined ? { from: pick.from } : { from: pick.from, valueKey: pick.valueKey })
}

// ---------------------------------------------------------------- building

function build(plan: StructPlan, request: Body | undefined, fill: Fill): Body {
  const out = defaultStruct(plan.name, fill.version)
  for (const p of plan.errorCodes) out[p] = fill.code
  for (const m of plan.errorMessages) out[m.prop] = fill.message ?? (m.nullable ? null : '')
  if (request === undefined) return out
  for (const c of plan.copies) {
    const v = request[c.from]
    out[c.to] = v === null && 'nullDefault' in c ? c.nullDefault : v
  }
  for (const a of plan.arrays) {
    const source = request[a.from]
    if (!Array.isArray(source)) continue // a null array (Metadata: all topics) names nothing to answer
    out[a.prop] = source.map((item) => {
      if (a.valueKey === undefined) return build(a.element, item as Record<string, unknown>, fill)
      const element = build(a.element, undefined, fill)
      element[a.valueKey] = item
      return element
    })
  }
  return out
}

/**
 * The response a broker would send if it rejected the whole request with `errorCode` (see the module comment).
 * `message` goes into every error message field the version carries. Produce with acks=0 gets no response on
 * the wire; this still builds one (the caller decides not to send it).
 */
export function errorResponse<K extends ApiKeyNumber>(
  apiKey: K,
  apiVersion: number,
  requestBody: RequestByApiKey[K],
  errorCode: number,
  message?: string,
): ResponseByApiKey[K] {
  const api = API_DEFINITIONS[apiKey]
  if (api === undefined) throw new MessageShapeError(`unknown API key ${apiKey}`)
  const { request, response } = api
  if (apiVersion < response.minVersion || apiVersion > response.maxVersion) {
    throw new MessageShapeError(
      `${response.name} has versions ${response.minVersion}-${response.maxVersion}, not ${apiVersion}`,
    )
  }
  const plan = planStruct(response.name, request.name, apiVersion, true)
  const req = requestBody as unknown as Record<string, unknown>
  const fill: Fill = { version: apiVersion, code: errorCode, message: message ?? null }
  const out = build(plan, req, fill)
  for (const o of OVERRIDES[apiKey] ?? []) {
    if (o.versions && (apiVersion < o.versions[0] || apiVersion > o.versions[1])) continue
    o.apply(out, req, fill)
  }
  return out as unknown as ResponseByApiKey[K]
}

// ---------------------------------------------------------------- topic-partition layout

/**
 * Where a request lists topic partitions and where its response answers them, as errorResponse matches them:
 * one root list of topics keyed by name or id, each with a list of partitions (structs, or plain indexes).
 */
export interface TopicPartitionLayout {
  readonly requestTopics: string
  readonly responseTopics: string
  /** The topic key: response property <- request property (a name, or a topic id where the version uses ids). */
  readonly topicKey: readonly [response: string, request: string]
  readonly requestPartitions: string
  readonly responsePartitions: string
  /** The partition index in a request partition struct; undefined where the request lists plain indexes. */
  readonly requestPartitionKey: string | undefined
  readonly responsePartitionKey: string
}

const TOPIC_KEYS = new Set(['topicId'])

/** The layout for this API and version, or undefined when its lists are not topics of partitions. */
export function topicPartitionLayout(apiKey: number, version: number): TopicPartitionLayout | undefined {
  const api = API_DEFINITIONS[apiKey]
  if (api === undefined || version < api.request.minVersion || version > api.request.maxVersion) return undefined
  const root = planStruct(api.response.name, api.request.name, version, true)
  const topicLists = root.arrays.filter((a) => a.valueKey === undefined && a.element.arrays.length === 1)
  if (topicLists.length !== 1) return undefined
  const topics = topicLists[0]!
  const topicFields = regularFields(topics.element.name, version)
  const key = topics.element.copies.find((c) => {
    const f = topicFields.find((x) => x.prop === c.to)
    return f !== undefined && (f.entityType === 'topicName' || TOPIC_KEYS.has(f.prop))
  })
  const partitions = topics.element.arrays[0]!
  const partitionFields = regularFields(partitions.element.name, version)
  const partitionKey =
    partitions.valueKey ??
    partitions.element.copies.find((c) => partitionFields.some((f) => f.prop === c.to && partitionField(f)))?.to
  if (key === undefined || partitionKey === undefined) return undefined
  return {
    requestTopics: topics.from,
    responseTopics: topics.prop,
    topicKey: [key.to, key.from],
    requestPartitions: partitions.from,
    responsePartitions: partitions.prop,
    requestPartitionKey:
      partitions.valueKey === undefined
        ? partitions.element.copies.find((c) => c.to === partitionKey)!.from
        : undefined,
    responsePartitionKey: partitionKey,
  }
}
