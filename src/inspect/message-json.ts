import { CodecError } from '../../codec/errors.js'
import type { RequestMessage, ResponseMessage } from '../../codec/messages/frames.js'
import { API_DEFINITIONS } from '../../codec/messages/generated/apis.js'
import { STRUCT_SCHEMAS } from '../../codec/messages/generated/schema.js'
import type { FieldSchema, TypeSchema } from '../../codec/messages/schema-types.js'
import { CRC, RECORDS, RECORDS_COUNT } from '../../codec/records/batch-layout.js'
import {
  ControlRecordType,
  decodeControlRecord,
  LegacyMessageSet,
  PartialBatch,
  type RecordBatch,
  readBatches,
  TimestampType,
} from '../../codec/records/index.js'

/**
 * Decoded Kafka messages as JSON-safe values, for people reading captured traffic (the `decode` command, logs):
 *   int64        a number when it is a safe integer, else a decimal string
 *   bytes        UTF-8 text when it is printable, else { "base64": ... }
 *   records      (every field typed 'records' in STRUCT_SCHEMAS) the record batches with their records decoded
 *   unknown tagged fields  [{ tag, data }] under "_unknownTaggedFields"
 * Field order is the wire order. Nothing here throws for bad record data: a batch that cannot be read is shown
 * with an `error` naming the code and the byte offset, and every such problem is also listed in `problems`.
 */

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue }
export type JsonObject = { [key: string]: JsonValue }

export interface MessageJsonOptions {
  /**
   * The buffer the message was decoded from. Byte fields are views into it, so batch positions and error offsets
   * can be given as offsets into this buffer (what an operator sees in a hex dump). Without it they are relative
   * to the records field.
   */
  source?: Buffer
  /** Cap on one batch's decompressed records (default: the codec's). */
  maxDecompressedSize?: number
}

/** A problem found while rendering (records that could not be decoded); the message itself decoded fine. */
export interface RenderProblem {
  readonly path: string
  readonly code: string
  readonly message: string
  readonly offset?: number
}

export interface RenderedMessage {
  readonly json: JsonObject
  readonly problems: readonly RenderProblem[]
}

export function requestToJson(req: RequestMessage, options: MessageJsonOptions = {}): RenderedMessage {
  return messageToJson('request', req, options)
}

export function responseToJson(res: ResponseMessage, options: MessageJsonOptions = {}): RenderedMessage {
  return messageToJson('response', res, options)
}

function messageToJson(
  side: 'request' | 'response',
  m: RequestMessage | ResponseMessage,
  options: MessageJsonOptions,
): RenderedMessage {
  const api = API_DEFINITIONS[m.apiKey]
  const r = new Renderer(options)
  const suffix = side === 'request' ? 'Request' : 'Response'
  const json: JsonObject = {
    type: side,
    apiKey: m.apiKey,
    api: api?.name ?? 'unknown',
    apiVersion: m.apiVersion,
    headerVersion: m.headerVersion,
    header: r.struct(m.header, `${suffix}Header`, 'header'),
    body: r.struct(m.body, `${api?.name}${suffix}`, 'body'),
  }
  return { json, problems: r.problems }
}

/** A record batch field (Produce request, Fetch response, ...) as a list of batches with their records. */
export function recordsToJson(
  records: Buffer | null,
  options: MessageJsonOptions = {},
): { json: JsonValue; problems: readonly RenderProblem[] } {
  const r = new Renderer(options)
  return { json: r.records(records, 'records'), problems: r.problems }
}

/** int64: a JSON number when exact, else a decimal string. */
export function int64ToJson(v: bigint): number | string {
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v.toString()
}

/** Bytes: UTF-8 text when it decodes losslessly to printable characters (tab and newlines allowed), else base64. */
export function bytesToJson(b: Buffer): string | { base64: string } {
  const text = b.toString('utf8')
  if (!/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f\ufffd]/.test(text) && Buffer.byteLength(text) === b.length) {
    return text
  }
  return { base64: b.toString('base64') }
}

const COMPRESSION_NAMES = ['none', 'gzip', 'snappy', 'lz4', 'zstd']
const CONTROL_TYPE_NAMES = Object.fromEntries(Object.entries(ControlRecordType).map(([name, id]) => [id, name]))

class Renderer {
  readonly problems: RenderProblem[] = []
  private readonly options: MessageJsonOptions

  constructor(options: MessageJsonOptions) {
    this.options = options
  }

  struct(value: unknown, structName: string, path: string): JsonValue {
    if (value === null || value === undefined) return null
    const schema = STRUCT_SCHEMAS[structName]
    const out: JsonObject = {}
    for (const [prop, v] of Object.entries(value as Record<string, unknown>)) {
      if (v === undefined) continue
      const field = schema?.fields.find((f: FieldSchema) => f.prop === prop)
      if (prop === '_unknownTaggedFields') {
        out[prop] = (v as { tag: number; data: Buffer }[]).map((t) => ({ tag: t.tag, data: bytesToJson(t.data) }))
      } else {
        out[prop] =
          field === undefined ? this.plain(v, `${path}.${prop}`) : this.typed(v, field.type, `${path}.${prop}`)
      }
    }
    return out
  }

  private typed(v: unknown, type: TypeSchema, path: string): JsonValue {
    if (v === null || v === undefined) return null
    if (type === 'records') return this.records(v as Buffer, path)
    if (typeof type === 'object') {
      if ('struct' in type) return this.struct(v, type.struct, path)
      return (v as unknown[]).map((item, i) => this.typed(item, type.array, `${path}[${i}]`))
    }
    return this.plain(v, path)
  }

  /** Values without schema information: by JavaScript type. */
  private plain(v: unknown, path: string): JsonValue {
    if (v === null || v === undefined) return null
    if (typeof v === 'bigint') return int64ToJson(v)
    if (typeof v === 'number') return Number.isFinite(v) ? v : String(v)
    if (typeof v === 'string' || typeof v === 'boolean') return v
    if (Buffer.isBuffer(v)) return bytesToJson(v)
    if (Array.isArray(v)) return v.map((item, i) => this.plain(item, `${path}[${i}]`))
    if (typeof v === 'object') {
      const out: JsonObject = {}
      for (const [k, x] of Object.entries(v)) if (x !== undefined) out[k] = this.plain(x, `${path}.${k}`)
      return out
    }
    return String(v)
  }

  /** Where `view` starts in the source buffer, when it is a view of it. */
  private position(view: Buffer, offsetInView = 0): number {
    const src = this.options.source
    if (src !== undefined && view.buffer === src.buffer) return view.byteOffset - src.byteOffset + offsetInView
    return offsetInView
  }

  records(records: Buffer | null, path: string): JsonValue {
    if (records === null) return null
    const batches: JsonValue[] = []
    try {
      for (const entry of readBatches(records)) {
        const at = `${path}[${batches.length}]`
        if (entry instanceof PartialBatch) {
          batches.push({
            partial: true,
            position: this.position(entry.raw),
            sizeInBytes: entry.raw.length,
            note: 'a batch cut short at the end of the records (normal at the end of a Fetch response)',
          })
        } else if (entry instanceof LegacyMessageSet) {
          batches.push({
            position: this.position(entry.raw),
            magic: entry.magic,
            offset: int64ToJson(entry.offset),
            attributes: entry.attributes,
            compression: COMPRESSION_NAMES[entry.compression] ?? entry.compression,
            sizeInBytes: entry.raw.length,
            note: 'legacy message (magic 0/1): contents not decoded',
          })
        } else {
          batches.push(this.batch(entry, at))
        }
      }
    } catch (err) {
      if (!(err instanceof CodecError)) throw err
      const offset = err.offset === undefined ? undefined : this.position(records, err.offset)
      batches.push(this.problem(`${path}[${batches.length}]`, err, offset))
    }
    return batches
  }

  private batch(b: RecordBatch, path: string): JsonObject {
    const out: JsonObject = {
      position: this.position(b.raw),
      baseOffset: int64ToJson(b.baseOffset),
      batchLength: b.batchLength,
      partitionLeaderEpoch: b.partitionLeaderEpoch,
      magic: b.magic,
      crc: `0x${b.crc.toString(16).padStart(8, '0')}`,
      crcValid: b.verifyCrc(),
      attributes: b.attributes,
      compression: COMPRESSION_NAMES[b.compression] ?? b.compression,
      timestampType: b.timestampType === TimestampType.LogAppendTime ? 'LogAppendTime' : 'CreateTime',
      isTransactional: b.isTransactional,
      isControl: b.isControl,
      hasDeleteHorizon: b.hasDeleteHorizon,
      lastOffsetDelta: b.lastOffsetDelta,
      baseTimestamp: int64ToJson(b.baseTimestamp),
      maxTimestamp: int64ToJson(b.maxTimestamp),
      producerId: int64ToJson(b.producerId),
      producerEpoch: b.producerEpoch,
      baseSequence: b.baseSequence,
      recordCount: b.recordCount,
    }
    if (!out.crcValid) {
      this.problems.push({
        path,
        code: 'KSC_ERR_CODEC_CRC_MISMATCH',
        message: `stored CRC ${out.crc} does not match computed 0x${b.computeCrc().toString(16).padStart(8, '0')}`,
        offset: this.position(b.raw, CRC),
      })
    }
    const records: JsonValue[] = []
    out.records = records
    try {
      const options =
        this.options.maxDecompressedSize === undefined ? {} : { maxDecompressedSize: this.options.maxDecompressedSize }
      for (const rec of b.records(options)) {
        const r: JsonObject = {
          offset: int64ToJson(rec.offset),
          timestamp: int64ToJson(rec.timestamp),
          key: rec.key === null ? null : bytesToJson(rec.key),
          value: rec.value === null ? null : bytesToJson(rec.value),
          headers: rec.headers.map((h) => ({ key: h.key, value: h.value === null ? null : bytesToJson(h.value) })),
        }
        if (rec.attributes !== 0) r.attributes = rec.attributes
        if (b.isControl) {
          const c = decodeControlRecord(rec)
          const control: JsonObject = { type: CONTROL_TYPE_NAMES[c.type] ?? c.type, keyVersion: c.keyVersion }
          if (c.coordinatorEpoch !== undefined) control.coordinatorEpoch = c.coordinatorEpoch
          r.control = control
        }
        records.push(r)
      }
    } catch (err) {
      if (!(err instanceof CodecError)) throw err
      // The record count check reports an offset in the batch; record decoding, one in the records section, which
      // is a position in the source only when the batch is not compressed.
      const countCheck = records.length === 0 && err.offset === RECORDS_COUNT && err.message.includes('declares')
      const offset =
        err.offset === undefined
          ? undefined
          : countCheck
            ? this.position(b.raw, RECORDS_COUNT)
            : b.compression === 0
              ? this.position(b.raw, RECORDS + err.offset)
              : undefined
      records.push(this.problem(`${path}.records[${records.length}]`, err, offset))
    }
    return out
  }

  private problem(path: string, err: CodecError, offset: number | undefined): JsonObject {
    const message = err.message.replace(/ \(at byte \d+\)$/, '')
    this.problems.push(
      offset === undefined ? { path, code: err.code, message } : { path, code: err.code, message, offset },
    )
    const out: JsonObject = { error: message, code: err.code }
    if (offset !== undefined) out.offset = offset
    return out
  }
}
