import { type Record as KafkaRecord, readBatches } from '../../codec/records/index.js'
import type { PartRule, Rule, SubjectStrategy } from './config.js'
import type { LocalSchemas } from './local-schemas.js'
import type { RegisteredSchema, SchemaLookup } from './schema-registry.js'
import { FramingError, readApicurioHeaderId, readConfluentFrame } from './wire-format.js'

/** Why a record failed, as the metrics label it. */
export type FailureKind =
  | 'schema'
  | 'framing'
  | 'unknown_schema'
  | 'subject'
  | 'format'
  | 'header'
  | 'null'
  | 'unusable_schema'
  | 'unreadable'

export interface RecordFailure {
  /** The record's index in the partition's records (its batch's record index for a single batch, as producers send). */
  readonly index: number
  readonly kind: FailureKind
  readonly message: string
}

/** What checking one partition's records found. */
export interface PartitionCheck {
  records: number
  /** Every failed record up to MAX_REPORTED_FAILURES, in order. */
  readonly failures: RecordFailure[]
  failed: number
  /** Records passed without a check because the registry was unreachable and the rule fails open. */
  unchecked: number
  /** The registry was unreachable and the rule fails closed: why. */
  unavailable: string | undefined
  /** The records could not be read at all (corrupt batch, old message format). */
  unreadable: string | undefined
  /** Schema ids the check needed and the cache did not have (look them up, then check again). */
  missing: Set<number> | undefined
  /** Schema ids whose cached subjects lacked the record's subject (ask again, then check again). */
  refresh: Set<number> | undefined
}

/** Record errors per partition in a response: enough for a producer to see what is wrong, bounded in size. */
export const MAX_REPORTED_FAILURES = 20

export interface CheckEnvironment {
  /** A schema by id without waiting; undefined when it must be looked up first. */
  resolve(id: number): SchemaLookup | undefined
  /** Whether a schema's subjects may be asked again before a record is refused for its subject. */
  canRefresh(id: number): boolean
  readonly local: LocalSchemas | undefined
}

const SUBJECT_STRATEGY_NAMES: Readonly<Record<SubjectStrategy, string>> = {
  topic: 'TopicNameStrategy',
  record: 'RecordNameStrategy',
  'topic-record': 'TopicRecordNameStrategy',
  any: 'any subject',
}

/**
 * Checks every record of one partition's `records` against a rule. Batches are found by their length fields and
 * decompressed one at a time; keys, values and headers are views of the (decompressed) batch, nothing is copied or
 * re-encoded. Control batches are skipped (only transaction coordinators write them).
 */
export function checkPartition(records: Buffer, topic: string, rule: Rule, env: CheckEnvironment): PartitionCheck {
  const result: PartitionCheck = {
    records: 0,
    failures: [],
    failed: 0,
    unchecked: 0,
    unavailable: undefined,
    unreadable: undefined,
    missing: undefined,
    refresh: undefined,
  }
  let index = 0
  try {
    for (const entry of readBatches(records, { partial: 'reject' })) {
      if (entry.kind !== 'batch') {
        result.unreadable = `message format v${entry.kind === 'legacy' ? entry.magic : '?'} records cannot be checked: the producer must write record batches (v2, Kafka 0.11+)`
        return result
      }
      if (entry.isControl) continue
      for (const record of entry.records()) {
        result.records++
        checkRecord(record, index++, topic, rule, env, result)
      }
    }
  } catch (err) {
    result.unreadable = `the records cannot be read: ${(err as Error).message}`
  }
  return result
}

function fail(result: PartitionCheck, index: number, kind: FailureKind, text: string, rule: Rule): void {
  result.failed++
  if (result.failures.length < MAX_REPORTED_FAILURES) {
    result.failures.push({ index, kind, message: `record ${index}: ${text} (rule ${rule.name})` })
  }
}

function checkRecord(
  record: KafkaRecord,
  index: number,
  topic: string,
  rule: Rule,
  env: CheckEnvironment,
  result: PartitionCheck,
): void {
  const failedBefore = result.failed
  for (const name of rule.requiredHeaders) {
    if (!hasHeader(record, name)) {
      fail(result, index, 'header', `header ${name} is missing`, rule)
      return
    }
  }
  if (rule.key !== undefined) checkPart(record, 'key', rule.key, index, topic, rule, env, result)
  if (result.failed !== failedBefore) return
  if (rule.value !== undefined) checkPart(record, 'value', rule.value, index, topic, rule, env, result)
}

function hasHeader(record: KafkaRecord, name: string): boolean {
  for (const h of record.headers) if (h.key === name) return true
  return false
}

function checkPart(
  record: KafkaRecord,
  part: 'key' | 'value',
  spec: PartRule,
  index: number,
  topic: string,
  rule: Rule,
  env: CheckEnvironment,
  result: PartitionCheck,
): void {
  const bytes = record[part]
  if (bytes === null) {
    if (!spec.allowNull) fail(result, index, 'null', `${part} is null`, rule)
    return
  }
  const source = spec.source
  if (source.kind === 'file') {
    const reason = env.local!.get(spec).check(bytes)
    if (reason !== undefined)
      fail(result, index, 'schema', `${part}: ${reason} (schema ${env.local!.label(spec)})`, rule)
    return
  }
  let id: number
  try {
    id =
      source.framing === 'confluent'
        ? readConfluentFrame(bytes, false).schemaId
        : readApicurioHeaderId(record.headers, part)
  } catch (err) {
    if (!(err instanceof FramingError)) throw err
    fail(result, index, 'framing', `${part} ${err.message}`, rule)
    return
  }
  const lookup = env.resolve(id)
  if (lookup === undefined) {
    result.missing ??= new Set()
    result.missing.add(id)
    return
  }
  if (lookup.kind === 'unknown') {
    fail(result, index, 'unknown_schema', `${part}: ${lookup.reason}`, rule)
    return
  }
  if (lookup.kind === 'unavailable') {
    if (rule.onRegistryDown === 'fail-open') result.unchecked++
    else result.unavailable ??= lookup.reason
    return
  }
  const schema = lookup.schema
  if (spec.format !== undefined && schema.format !== spec.format) {
    fail(
      result,
      index,
      'format',
      `${part}: schema id ${id} is ${schema.schemaType}, where the rule expects ${spec.format}`,
      rule,
    )
    return
  }
  if (schema.compiled === undefined) {
    if (rule.onRegistryDown === 'fail-open') result.unchecked++
    else fail(result, index, 'unusable_schema', `${part}: schema id ${id} cannot be checked: ${schema.unusable}`, rule)
    return
  }
  let payload = bytes
  let indexes: readonly number[] | undefined
  if (schema.format === 'protobuf' && source.framing === 'confluent') {
    try {
      const frame = readConfluentFrame(bytes, true)
      payload = frame.payload
      indexes = frame.messageIndexes
    } catch (err) {
      if (!(err instanceof FramingError)) throw err
      fail(result, index, 'framing', `${part} ${err.message}`, rule)
      return
    }
  } else if (source.framing === 'confluent') {
    payload = bytes.subarray(5)
  }
  let label: string
  if (source.subject !== 'any') {
    const expected = expectedSubject(source.subject, topic, part, schema, indexes)
    const held = expected === undefined ? undefined : schema.subjects.find((s) => s.subject === expected)
    if (held === undefined) {
      if (env.canRefresh(id)) {
        result.refresh ??= new Set()
        result.refresh.add(id)
        return
      }
      const under = schema.subjects.map((s) => `${s.subject} v${s.version}`).join(', ') || 'no subject'
      fail(
        result,
        index,
        'subject',
        `${part}: schema id ${id} is not registered under subject ${expected ?? '(the record has no name)'} (${SUBJECT_STRATEGY_NAMES[source.subject]}); it is under ${under}`,
        rule,
      )
      return
    }
    label = `schema ${held.subject} v${held.version}`
  } else {
    const first = schema.subjects[0]
    label = first === undefined ? `schema id ${id}` : `schema ${first.subject} v${first.version}`
  }
  const reason = schema.compiled.check(payload, indexes)
  if (reason !== undefined) fail(result, index, 'schema', `${part}: ${reason} (${label})`, rule)
}

function expectedSubject(
  strategy: Exclude<SubjectStrategy, 'any'>,
  topic: string,
  part: 'key' | 'value',
  schema: RegisteredSchema,
  indexes: readonly number[] | undefined,
): string | undefined {
  if (strategy === 'topic') return `${topic}-${part}`
  const name = schema.compiled?.recordName(indexes)
  if (name === undefined) return undefined
  return strategy === 'record' ? name : `${topic}-${name}`
}
