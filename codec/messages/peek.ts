import { requestHeaderVersion } from '../header.js'
import { Reader } from '../primitives/reader.js'
import { ApiKey } from './generated/apis.js'
import { readRequestHeader } from './generated/request-header.js'

/**
 * Cheap looks into request bodies for the few facts a proxy needs on every frame, without decoding the body.
 */

/**
 * The acks of a Produce request (ProduceRequest.json: TransactionalId (v3+, nullable), Acks int16, ...).
 * acks=0 requests get no response from the broker, so the proxy must not wait for one.
 * `offset` is where the request header starts.
 */
export function peekProduceAcks(buf: Buffer, offset = 0, end = buf.length): number {
  const r = new Reader(buf, offset, end)
  r.need(4, 'request header')
  const version = buf.readInt16BE(offset + 2)
  readRequestHeader(r, requestHeaderVersion(ApiKey.Produce, version))
  const flexible = version >= 9
  if (version >= 3) r.nullableString(flexible, 'ProduceRequest.TransactionalId')
  return r.int16()
}
