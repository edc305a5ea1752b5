import { requestHeaderVersion } from '../header.js'
import { Reader } from '../primitives/reader.js'
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
  const r = new Reader(buf, offset, end)
  r.skip(2, 'request header')
  const version = r.int16()
  r.skip(4, 'correlation id')
  // The client id keeps its int16 length even in flexible header v2 (RequestHeader.json: flexibleVersions none).
  r.skipString(false, 'RequestHeader.ClientId')
  if (requestHeaderVersion(ApiKey.Produce, version) >= 2) r.skipTaggedFields()
  // TransactionalId: STRING before v9, COMPACT_STRING from v9.
  if (version >= 3) r.skipString(version >= 9, 'ProduceRequest.TransactionalId')
  return r.int16()
}
