import { kafkaErrorName } from '../../codec/messages/error-codes.js'
import { formatHostPort, type HostPort } from '../config/host-port.js'
import { SidecarError } from '../errors.js'
import { isRetriable } from './kafka-errors.js'

/** Failures of the sidecar's own upstream client (src/upstream-client). Codes: KSC_ERR_UPSTREAM_CLIENT_<WHAT>. */

/** A broker connection ended while requests were waiting on it; `cause` says why. */
export class ConnectionClosedError extends SidecarError {
  constructor(target: HostPort, why: string, cause?: unknown) {
    super('KSC_ERR_UPSTREAM_CLIENT_CLOSED', `connection to broker ${formatHostPort(target)} closed: ${why}`, { cause })
  }
}

/** No response within the request timeout. The connection is closed with it: responses come in order. */
export class RequestTimeoutError extends SidecarError {
  constructor(target: HostPort, api: string, timeoutMs: number) {
    super(
      'KSC_ERR_UPSTREAM_CLIENT_TIMEOUT',
      `broker ${formatHostPort(target)} did not answer ${api} within ${timeoutMs} ms (overloaded or unreachable broker; raise requestTimeoutMs if it is only slow)`,
    )
  }
}

/** The broker sent bytes this client cannot make sense of (bad frame, unknown correlation id, undecodable body). */
export class UpstreamProtocolError extends SidecarError {
  constructor(target: HostPort, why: string, cause?: unknown) {
    super('KSC_ERR_UPSTREAM_CLIENT_PROTOCOL', `broker ${formatHostPort(target)} sent ${why}`, { cause })
  }
}

/** No version of an API that both the broker and the codec support. */
export class NoCommonVersionError extends SidecarError {
  constructor(target: HostPort, api: string, detail: string) {
    super(
      'KSC_ERR_UPSTREAM_CLIENT_VERSION',
      `broker ${formatHostPort(target)} and the sidecar's codec share no version of ${api} (${detail}); the broker is too old or too new for this sidecar`,
    )
  }
}

/** SASL authentication of the sidecar's own connection failed. */
export class SaslAuthenticationError extends SidecarError {
  constructor(target: HostPort, mechanism: string, why: string) {
    super(
      'KSC_ERR_UPSTREAM_CLIENT_SASL',
      `SASL ${mechanism} authentication to broker ${formatHostPort(target)} failed: ${why}`,
    )
  }
}

/** A Kafka error code in a response (top level, topic or partition). */
export class KafkaResponseError extends SidecarError {
  readonly errorCode: number
  readonly errorName: string
  readonly retriable: boolean
  constructor(errorCode: number, where: string, brokerMessage?: string | null) {
    const name = kafkaErrorName(errorCode)
    super(
      'KSC_ERR_UPSTREAM_CLIENT_KAFKA_ERROR',
      `${where}: ${name} (${errorCode})${brokerMessage ? `: ${brokerMessage}` : ''}`,
    )
    this.errorCode = errorCode
    this.errorName = name
    this.retriable = isRetriable(errorCode)
  }
}

/** Records not acknowledged within the delivery timeout; `cause` is the last failure seen, if any. */
export class DeliveryTimeoutError extends SidecarError {
  constructor(topic: string, partition: number, timeoutMs: number, cause?: unknown) {
    const why = cause instanceof Error ? ` (last error: ${cause.message})` : ''
    super(
      'KSC_ERR_UPSTREAM_CLIENT_DELIVERY_TIMEOUT',
      `records for ${topic}-${partition} not delivered within ${timeoutMs} ms${why}`,
      { cause },
    )
  }
}

/** produce() refused: more than bufferBytes of records are waiting for the cluster. */
export class BufferFullError extends SidecarError {
  constructor(bufferBytes: number) {
    super(
      'KSC_ERR_UPSTREAM_CLIENT_BUFFER_FULL',
      `more than ${bufferBytes} bytes of records are waiting to be sent upstream (cluster slow or unreachable); the records were not queued`,
    )
  }
}

/** Metadata could not be obtained from any broker. */
export class ClusterUnreachableError extends SidecarError {
  constructor(why: string, cause?: unknown) {
    super('KSC_ERR_UPSTREAM_CLIENT_UNREACHABLE', `no upstream broker answered: ${why}`, { cause })
  }
}

/** A topic the cluster does not know (after waiting for metadata to catch up). */
export class UnknownTopicError extends SidecarError {
  constructor(topic: string, waitedMs: number) {
    super(
      'KSC_ERR_UPSTREAM_CLIENT_UNKNOWN_TOPIC',
      `topic ${JSON.stringify(topic)} does not exist on the upstream cluster (waited ${waitedMs} ms for it to appear); create it or fix the topic name`,
    )
  }
}

/** A caller-side mistake: unknown node id, partition out of range, version the broker does not support. */
export class InvalidRequestError extends SidecarError {
  constructor(why: string) {
    super('KSC_ERR_UPSTREAM_CLIENT_INVALID_REQUEST', why)
  }
}

/** The client was closed. */
export class ClientClosedError extends SidecarError {
  constructor() {
    super('KSC_ERR_UPSTREAM_CLIENT_SHUT_DOWN', 'the upstream client is closed')
  }
}
