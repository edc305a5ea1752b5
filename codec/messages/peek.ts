import { TruncatedInputError } from '../errors.js'
import { requestHeaderVersion } from '../header.js'
import { ApiKey } from './generated/apis.js'

/**
 * Cheap looks into request frames for the few facts a proxy needs on every frame, without decoding anything:
 * a reader skips over the fields in front, no strings or objects are built.
 */

/**
 * The acks of a Produce request (ProduceRequest.json: TransactionalId (v3+, nullable), Acks int16, ...).
 * acks=0 requests get no response from the broker, so the proxy must not wait for one.
 * `offset` is where the request header starts (4 for a frame with its size prefix).
 *
 * Request header v1: api key, version (int16 each), correlation id (int32), client id (int16-length string);
 * v2 adds a tagged-field section.
 */
export function peekProduceAcks(buf: Buffer, offset = 0, end = buf.length): number {
  // Offsets computed in place (no Reader object): this runs for every Produce request a proxy sees.
  let pos = offset + 2
  if (end - pos < 8) throw new TruncatedInputError('request header', 8, end - pos, pos)
  const version = buf.readInt16BE(pos)
  pos += 6
  // The client id keeps its int16 length even in flexible header v2 (RequestHeader.json: flexibleVersions none).
  const clientIdLength = buf.readInt16BE(pos)
  pos += 2 + Math.max(0, clientIdLength)
  if (requestHeaderVersion(ApiKey.Produce, version) >= 2) pos = skipTaggedFields(buf, pos, end)
  // TransactionalId: STRING before v9, COMPACT_STRING from v9 (length + 1, 0 for null).
  if (version >= 9) {
    const n = uvarint(buf, pos, end)
    pos = varintEnd + Math.max(0, n - 1)
  } else if (version >= 3) {
    if (end - pos < 2) throw new TruncatedInputError('ProduceRequest.TransactionalId', 2, end - pos, pos)
    pos += 2 + Math.max(0, buf.readInt16BE(pos))
  }
  if (end - pos < 2) throw new TruncatedInputError('ProduceRequest.Acks', 2, end - pos, pos)
  return buf.readInt16BE(pos)
}

/** Where the last uvarint read ended (a module-level slot rather than a tuple per call: this is per request). */
let varintEnd = 0

/** The unsigned varint at `pos`; varintEnd is set to the position after it. */
function uvarint(buf: Buffer, pos: number, end: number): number {
  let value = 0
  for (let shift = 0; shift < 35; shift += 7) {
    if (pos >= end) throw new TruncatedInputError('varint', 1, 0, pos)
    const b = buf[pos++]!
    value |= (b & 0x7f) << shift
    if ((b & 0x80) === 0) {
      varintEnd = pos
      return value >>> 0
    }
  }
  throw new TruncatedInputError('varint', 1, 0, pos)
}

function skipTaggedFields(buf: Buffer, pos: number, end: number): number {
  let count = uvarint(buf, pos, end)
  let p = varintEnd
  for (; count > 0; count--) {
    uvarint(buf, p, end)
    const size = uvarint(buf, varintEnd, end)
    p = varintEnd + size
  }
  if (p > end) throw new TruncatedInputError('tagged fields', p - end, 0, end)
  return p
}
