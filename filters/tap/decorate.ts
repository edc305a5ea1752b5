import { kafkaErrorName } from '../../src/pipeline/filter-api.js'
import type { Capture } from './capture.js'

/**
 * The headers a tapped record gains, naming where it came from. They follow the record's own headers, so a reader
 * that takes the last header of a name (Kafka's Headers.lastHeader) gets the tap's even if the application used the
 * same name. Values are UTF-8 text.
 */
export const TAP_HEADERS = {
  /** The tap that copied it (its name). */
  name: 'ksc.tap.name',
  /** produce (a client sent it) or fetch (a client received it). */
  direction: 'ksc.tap.direction',
  topic: 'ksc.tap.topic',
  partition: 'ksc.tap.partition',
  /** The record's offset in its topic partition; absent when unknown (acks=0, or the broker refused the write). */
  offset: 'ksc.tap.offset',
  /** The client id of the connection (absent when the client sent none). */
  clientId: 'ksc.tap.client-id',
  /** The principal of an mTLS client (absent without one). */
  principal: 'ksc.tap.principal',
  /** Which sidecar tapped it (the filter's `instance`, by default the pod's host name). */
  sidecar: 'ksc.tap.sidecar',
  /** Produce: the error the broker answered for the partition (the record was not written). */
  error: 'ksc.tap.error',
  /** Redaction: `not-json` when the value could not be parsed, and so is not copied. */
  redaction: 'ksc.tap.redaction',
} as const

export interface TapHeader {
  readonly key: string
  readonly value: Buffer | null
}

const text = (s: string): Buffer => Buffer.from(s, 'utf8')
const NOT_JSON: TapHeader = Object.freeze({ key: TAP_HEADERS.redaction, value: text('not-json') })

export function notJsonHeader(): TapHeader {
  return NOT_JSON
}

/** The headers every record of a capture gets from one tap, built once per capture. */
export function captureHeaders(capture: Capture, tapName: string, instance: string): TapHeader[] {
  const headers: TapHeader[] = [
    { key: TAP_HEADERS.name, value: text(tapName) },
    { key: TAP_HEADERS.direction, value: text(capture.direction) },
    { key: TAP_HEADERS.topic, value: text(capture.topic ?? '') },
    { key: TAP_HEADERS.partition, value: text(String(capture.partition)) },
  ]
  if (capture.clientId !== null) headers.push({ key: TAP_HEADERS.clientId, value: text(capture.clientId) })
  if (capture.principal !== undefined) headers.push({ key: TAP_HEADERS.principal, value: text(capture.principal) })
  headers.push({ key: TAP_HEADERS.sidecar, value: text(instance) })
  if (capture.errorCode !== 0) {
    headers.push({ key: TAP_HEADERS.error, value: text(kafkaErrorName(capture.errorCode)) })
  }
  return headers
}

export function offsetHeader(offset: bigint): TapHeader {
  return { key: TAP_HEADERS.offset, value: text(offset.toString()) }
}

/**
 * What a metadata-only tap copies of a record: sizes and header names, never a key, a value or a header value
 * (for topics whose payload must not leave them).
 */
export function metadataValue(
  key: Buffer | null,
  value: Buffer | null,
  headers: readonly { readonly key: string; readonly value: Buffer | null }[],
): Buffer {
  let headerBytes = 0
  for (const h of headers) headerBytes += Buffer.byteLength(h.key) + (h.value?.length ?? 0)
  return text(
    JSON.stringify({
      keyBytes: key === null ? null : key.length,
      valueBytes: value === null ? null : value.length,
      headers: headers.map((h) => h.key),
      headerBytes,
    }),
  )
}
