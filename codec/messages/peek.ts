import { TruncatedInputError } from '../errors.js'
import { requestHeaderVersion } from '../header.js'
import { ApiKey } from './generated/apis.js'

/**
 * Cheap looks into request frames for the few facts a proxy needs on every frame, without decoding anything:
 * a cursor skips over the fields in front, no strings or objects are created.
 */

/**
 * The acks of a Produce request (ProduceRequest.json: TransactionalId (v3+, nullable), Acks int16, ...).
 * acks=0 requests get no response from the broker, so the proxy must not wait for one.
 * `offset` is where the request header starts (4 for a frame with its size prefix).
 *
 * Request header v1: api key, version (int16 each), correlation id (int32), client id (int16-length string);
 * v2 adds a tagged-field section (uvarint count, then uvarint tag, uvarint size, bytes).
 */
export function peekProduceAcks(buf: Buffer, offset = 0, end = buf.length): number {
  if (end - offset < 10) throw new TruncatedInputError('request header', 10, end - offset, offset)
  const version = buf.readInt16BE(offset + 2)
  let pos = offset + 8
  const clientIdLength = buf.readInt16BE(pos)
  pos += 2 + Math.max(0, clientIdLength)
  const cursor = { pos }
  if (requestHeaderVersion(ApiKey.Produce, version) >= 2) {
    const tagged = uvarint(buf, cursor, end)
    for (let i = 0; i < tagged; i++) {
      uvarint(buf, cursor, end) // tag
      const size = uvarint(buf, cursor, end) // read before adding: `pos += f()` would add to the old pos
      cursor.pos += size
    }
  }
  if (version >= 3) {
    // TransactionalId: STRING (int16 length) before v9, COMPACT_STRING (uvarint length + 1) from v9.
    const n = version >= 9 ? uvarint(buf, cursor, end) - 1 : readInt16(buf, cursor, end)
    cursor.pos += Math.max(0, n)
  }
  return readInt16(buf, cursor, end)
}

function readInt16(buf: Buffer, cursor: { pos: number }, end: number): number {
  if (end - cursor.pos < 2) throw new TruncatedInputError('int16', 2, Math.max(0, end - cursor.pos), cursor.pos)
  const v = buf.readInt16BE(cursor.pos)
  cursor.pos += 2
  return v
}

function uvarint(buf: Buffer, cursor: { pos: number }, end: number): number {
  let value = 0
  for (let shift = 0; shift < 35; shift += 7) {
    if (cursor.pos >= end) throw new TruncatedInputError('varint', 1, 0, cursor.pos)
    const b = buf[cursor.pos++]!
    value += (b & 0x7f) * 2 ** shift
    if ((b & 0x80) === 0) return value
  }
  throw new TruncatedInputError('varint', 1, 0, cursor.pos)
}
