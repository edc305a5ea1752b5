import type { RecordHeader } from '../../codec/records/index.js'

/**
 * Reading which registry schema a record was written with, without copying its bytes.
 *
 * Confluent framing (https://docs.confluent.io/platform/current/schema-registry/fundamentals/serdes-develop/index.html#wire-format):
 *   magic byte 0 | schema id int32 big-endian | [Protobuf: message indexes] | payload
 * Protobuf message indexes: a zigzag varint count, then that many zigzag varints, each the index of a message among
 * the message types of its parent (the file, then the enclosing message); a single 0 byte stands for [0], the first
 * message of the file (the same page, "Protobuf Serializer").
 *
 * Apicurio header mode: the payload alone; the id in the record header `apicurio.<key|value>.contentId`, an 8-byte
 * big-endian long (io.apicurio.registry.serde.kafka.headers.KafkaSerdeHeaders and DefaultHeadersHandler, which
 * writes ByteBuffer.allocate(8).putLong). Apicurio's Confluent-compatible API serves schemas by content id
 * (/apis/ccompat/v7/schemas/ids/{id}), which is also what its serdes write by default (apicurio.registry.use-id=contentId).
 */

export const CONFLUENT_MAGIC = 0
/** The magic byte and the 4-byte schema id: where a non-Protobuf payload starts. */
export const CONFLUENT_HEADER = 5
/** More message indexes than any real schema nests: a larger count is garbage, not a schema path. */
const MAX_MESSAGE_INDEXES = 64

export interface FramedPayload {
  readonly schemaId: number
  /** The encoded record after the framing: a view of the record's bytes. */
  readonly payload: Buffer
  /** Protobuf only: the path to the message type. */
  readonly messageIndexes: readonly number[] | undefined
}

export class FramingError extends Error {}

const FIRST_MESSAGE: readonly number[] = Object.freeze([0])

/** Zigzag varint (protobuf sint32 encoding) at `pos`; returns the value and the position after it. */
function readZigzagVarint(buf: Buffer, pos: number): { value: number; next: number } {
  let raw = 0
  let shift = 0
  for (;;) {
    if (pos >= buf.length) throw new FramingError('the Protobuf message indexes end early')
    const b = buf[pos++]!
    raw += (b & 0x7f) * 2 ** shift
    if ((b & 0x80) === 0) break
    shift += 7
    if (shift > 28) throw new FramingError('a Protobuf message index is longer than 5 bytes')
  }
  const value = raw % 2 === 0 ? raw / 2 : -(raw + 1) / 2
  return { value, next: pos }
}

export function readConfluentFrame(bytes: Buffer, protobuf: boolean): FramedPayload {
  if (bytes.length === 0) throw new FramingError('is empty: expected the magic byte 0 and a 4-byte schema id')
  if (bytes[0] !== CONFLUENT_MAGIC) {
    throw new FramingError(
      `has no magic byte: starts with 0x${bytes[0]!.toString(16).padStart(2, '0')} where a schema registry serializer writes 0x00 and a 4-byte schema id`,
    )
  }
  if (bytes.length < CONFLUENT_HEADER) {
    throw new FramingError(`is ${bytes.length} byte(s): too short for the magic byte and a 4-byte schema id`)
  }
  const schemaId = bytes.readInt32BE(1)
  if (!protobuf) return { schemaId, payload: bytes.subarray(CONFLUENT_HEADER), messageIndexes: undefined }
  const count = readZigzagVarint(bytes, CONFLUENT_HEADER)
  let pos = count.next
  let indexes: readonly number[]
  if (count.value === 0) {
    indexes = FIRST_MESSAGE
  } else {
    if (count.value < 0 || count.value > MAX_MESSAGE_INDEXES) {
      throw new FramingError(`declares ${count.value} Protobuf message indexes`)
    }
    const list: number[] = []
    for (let i = 0; i < count.value; i++) {
      const idx = readZigzagVarint(bytes, pos)
      if (idx.value < 0) throw new FramingError(`has a negative Protobuf message index ${idx.value}`)
      list.push(idx.value)
      pos = idx.next
    }
    indexes = list
  }
  return { schemaId, payload: bytes.subarray(pos), messageIndexes: indexes }
}

/** The header Apicurio's serdes put the content id in, for the key or the value. */
export function apicurioIdHeader(part: 'key' | 'value'): string {
  return `apicurio.${part}.contentId`
}

export function readApicurioHeaderId(headers: readonly RecordHeader[], part: 'key' | 'value'): number {
  const name = apicurioIdHeader(part)
  let found: RecordHeader | undefined
  for (const h of headers) if (h.key === name) found = h // the last one wins, as Headers.lastHeader does
  if (found === undefined) {
    const global = headers.some((h) => h.key === `apicurio.${part}.globalId`)
    throw new FramingError(
      global
        ? `has apicurio.${part}.globalId but no ${name} header: set apicurio.registry.use-id=contentId on the serializer (the registry's compatible API looks schemas up by content id)`
        : `has no ${name} header (Apicurio header mode)`,
    )
  }
  const v = found.value
  if (v === null || (v.length !== 8 && v.length !== 4)) {
    throw new FramingError(`header ${name} is ${v === null ? 'null' : `${v.length} byte(s)`}: expected an 8-byte id`)
  }
  const id = v.length === 8 ? v.readBigInt64BE(0) : BigInt(v.readInt32BE(0))
  if (id < 0n || id > 0x7fffffffn)
    throw new FramingError(`header ${name} holds id ${id}, outside the registry's id range`)
  return Number(id)
}
