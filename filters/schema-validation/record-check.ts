import {
  type Record as KafkaRecord,
  type RecordHeader,
  type RecordSpans,
  readBatches,
} from '../../codec/records/index.js'
import type { PartRule, Rule, SubjectStrategy } from './config.js'
import type { LocalSchemas } from './local-schemas.js'
import type { SubjectVersion } from './registry-client.js'
import type { RegisteredSchema, SchemaLookup } from './schema-registry.js'
import {
  CONFLUENT_HEADER,
  CONFLUENT_MAGIC,
  FramingError,
  readApicurioHeaderId,
  readConfluentFrame,
} from './wire-format.js'

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
 * decompressed one at a time; nothing is copied or re-encoded. When the rule reads no header, records are walked in
 * place (RecordSpans: offsets, no object per record) and a validator with an in-place fast path reads the value
 * where it lies; otherwise each record is decoded (keys, values and headers as views of the batch). Both ways give
 * the same verdicts and messages. Control batches are skipped (only transaction coordinators write them).
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
  const inPlace = readsNoHeader(rule)
  let index = 0
  try {
    for (const entry of readBatches(records, { partial: 'reject' })) {
      if (entry.kind !== 'batch') {
        result.unreadable = `message format v${entry.kind === 'legacy' ? entry.magic : '?'} records cannot be checked: the producer must write record batches (v2, Kafka 0.11+)`
        return result
      }
      if (entry.isControl) continue
      if (inPlace) {
        const spans = entry.recordSpans()
        while (spans.next()) {
          result.records++
          checkSpans(spans, index++, topic, rule, env, result)
        }
      } else {
        for (const record of entry.records()) {
          result.records++
          checkRecord(record, index++, topic, rule, env, result)
        }
      }
    }
  } catch (err) {
    result.unreadable = `the records cannot be read: ${(err as Error).message}`
  }
  return result
}

/** Whether checking a record under the rule needs none of its headers: then it can be checked in place. */
function readsNoHeader(rule: Rule): boolean {
  if (rule.requiredHeaders.length !== 0) return false
  for (const spec of [rule.key, rule.value]) {
    if (spec?.source.kind === 'registry' && spec.source.framing !== 'confluent') return false
  }
  return true
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
  if (rule.key !== undefined) checkDecodedPart(record, 'key', rule.key, index, topic, rule, env, result)
  if (result.failed !== failedBefore) return
  if (rule.value !== undefined) checkDecodedPart(record, 'value', rule.value, index, topic, rule, env, result)
}

/** checkPart for a decoded record's key or value (a null one as length -1). */
function checkDecodedPart(
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
  const length = bytes === null ? -1 : bytes.length
  checkPart(bytes ?? NO_BYTES, 0, length, record.headers, part, spec, index, topic, rule, env, result)
}

/** checkRecord for a record walked in place, under a rule that reads no header (readsNoHeader). */
function checkSpans(
  spans: RecordSpans,
  index: number,
  topic: string,
  rule: Rule,
  env: CheckEnvironment,
  result: PartitionCheck,
): void {
  const failedBefore = result.failed
  if (rule.key !== undefined)
    checkPart(spans.data, spans.keyStart, spans.keyLength, undefined, 'key', rule.key, index, topic, rule, env, result)
  if (result.failed !== failedBefore) return
  if (rule.value !== undefined)
    checkPart(
      spans.data,
      spans.valueStart,
      spans.valueLength,
      undefined,
      'value',
      rule.value,
      index,
      topic,
      rule,
      env,
      result,
    )
}

const NO_BYTES = Buffer.alloc(0)

function hasHeader(record: KafkaRecord, name: string): boolean {
  for (const h of record.headers) if (h.key === name) return true
  return false
}

/** `buf[start, end)` as a Buffer: `buf` itself when that is all of it. */
function view(buf: Buffer, start: number, end: number): Buffer {
  return start === 0 && end === buf.length ? buf : buf.subarray(start, end)
}

/**
 * Checks a key or value: `length` bytes of `buf` from `start`, -1 for null. `headers`: the record's, undefined when
 * walked in place (the rule then reads none).
 */
function checkPart(
  buf: Buffer,
  start: number,
  length: number,
  headers: readonly RecordHeader[] | undefined,
  part: 'key' | 'value',
  spec: PartRule,
  index: number,
  topic: string,
  rule: Rule,
  env: CheckEnvironment,
  result: PartitionCheck,
): void {
  if (length < 0) {
    if (!spec.allowNull) fail(result, index, 'null', `${part} is null`, rule)
    return
  }
  const end = start + length
  const source = spec.source
  if (source.kind === 'file') {
    const compiled = env.local!.get(spec)
    if (compiled.validAt?.(buf, start, end)) return
    const reason = compiled.check(view(buf, start, end))
    if (reason !== undefined)
      fail(result, index, 'schema', `${part}: ${reason} (schema ${env.local!.label(spec)})`, rule)
    return
  }
  let id: number
  try {
    if (source.framing === 'confluent') {
      // A well-framed value's id is read in place; anything else gets readConfluentFrame's words.
      id =
        length >= CONFLUENT_HEADER && buf[start] === CONFLUENT_MAGIC
          ? buf.readInt32BE(start + 1)
          : readConfluentFrame(view(buf, start, end), false).schemaId
    } else {
      id = readApicurioHeaderId(headers!, part)
    }
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
  // The payload: `buf[payloadStart, end)`, or, after Protobuf message indexes, the frame's view of it.
  let payloadStart = start
  let framed: Buffer | undefined
  let indexes: readonly number[] | undefined
  if (schema.format === 'protobuf' && source.framing === 'confluent') {
    try {
      const frame = readConfluentFrame(view(buf, start, end), true)
      framed = frame.payload
      indexes = frame.messageIndexes
    } catch (err) {
      if (!(err instanceof FramingError)) throw err
      fail(result, index, 'framing', `${part} ${err.message}`, rule)
      return
    }
  } else if (source.framing === 'confluent') {
    payloadStart = start + CONFLUENT_HEADER
  }
  // Which registration the rejection names; its text is made only for a record that fails.
  let named: SubjectVersion | undefined
  if (source.subject !== 'any') {
    const expected = expectedSubject(source.subject, topic, part, schema, indexes)
    const held = expected === undefined ? undefined : subjectVersion(schema, expected)
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
    named = held
  } else {
    named = schema.subjects[0]
  }
  if (framed === undefined && schema.compiled.validAt?.(buf, payloadStart, end)) return
  const reason = schema.compiled.check(framed ?? view(buf, payloadStart, end), indexes)
  if (reason === undefined) return
  const label = named === undefined ? `schema id ${id}` : `schema ${named.subject} v${named.version}`
  fail(result, index, 'schema', `${part}: ${reason} (${label})`, rule)
}

function expectedSubject(
  strategy: Exclude<SubjectStrategy, 'any'>,
  topic: string,
  part: 'key' | 'value',
  schema: RegisteredSchema,
  indexes: readonly number[] | undefined,
): string | undefined {
  if (strategy === 'topic') return topicSubject(topic, part)
  const name = schema.compiled?.recordName(indexes)
  if (name === undefined) return undefined
  return strategy === 'record' ? name : `${topic}-${name}`
}

/** The subject version of the schema registered under `subject`; a loop, not find(), so no closure per record. */
function subjectVersion(schema: RegisteredSchema, subject: string): SubjectVersion | undefined {
  for (const s of schema.subjects) if (s.subject === subject) return s
  return undefined
}

// TopicNameStrategy's subjects for the topic last asked about: records of a partition share them, so they are made
// once per topic rather than once per record.
let subjectsTopic: string | undefined
let keySubject = ''
let valueSubject = ''

function topicSubject(topic: string, part: 'key' | 'value'): string {
  if (topic !== subjectsTopic) {
    subjectsTopic = topic
    keySubject = `${topic}-key`
    valueSubject = `${topic}-value`
  }
  return part === 'key' ? keySubject : valueSubject
}
