import { TruncatedInputError, UnknownApiKeyError } from '../../codec/errors.js'
import { peekClientId } from '../../codec/header.js'
import { canDecode } from '../../codec/messages/frames.js'
import { API_DEFINITIONS, ApiKey } from '../../codec/messages/generated/apis.js'
import { peekProduceAcks } from '../../codec/messages/peek.js'
import { SidecarError } from '../errors.js'
import type { Filter } from './filter-api.js'
import { type FilterChain, onlyObservers } from './filter-chain.js'

/** Bytes of a request the header peeks need at most (a client id, Produce's transactional id). */
export const HEAD_BYTES = 512

/**
 * ApiVersions and SaslHandshake are always decoded: the first tells who the client is (KIP-511) and what the broker
 * supports; the second changes how the following frames are framed (KIP-43).
 */
export const BUILT_IN_APIS: ReadonlySet<number> = new Set<number>([ApiKey.ApiVersions, ApiKey.SaslHandshake])

/**
 * How a request goes on: `pass` as its own bytes with nobody looking, `observe` as its own bytes with observers
 * looking after it went, `hold` decoded and run through the filters before anything goes on.
 */
export type Route = 'pass' | 'observe' | 'hold'

/** The one routing decision for a request, taken from its header alone, for whole and streamed requests alike. */
export interface RequestPlan {
  readonly apiKey: number
  readonly apiVersion: number
  readonly correlationId: number
  readonly expectsResponse: boolean
  readonly decodable: boolean
  readonly route: Route
  readonly requestFilters: readonly Filter[]
}

const NO_FILTERS: readonly Filter[] = Object.freeze([])

/**
 * Reads the routing decision off a request's header (`head` starts at the size prefix). Throws the codec's errors
 * for garbage, and UnknownApiKeyError for API keys the codec does not know: well-behaved clients only use APIs from
 * the (narrowed) ApiVersions answer, all of which the codec knows, so anything else is not passed on to the broker.
 */
export function planRequest(head: Buffer, chain: FilterChain): RequestPlan {
  if (head.length < 12) throw new TruncatedInputError('request header', 8, head.length - 4, 4)
  const apiKey = head.readInt16BE(4)
  const apiVersion = head.readInt16BE(6)
  const correlationId = head.readInt32BE(8)
  if (API_DEFINITIONS[apiKey] === undefined || apiVersion < 0) throw new UnknownApiKeyError(apiKey)
  // acks=0 Produce gets no response from the broker (ProduceRequest.json), so no slot waits for one.
  const expectsResponse = apiKey !== ApiKey.Produce || peekProduceAcks(head, 4) !== 0
  const decodable = canDecode(apiKey, apiVersion)
  const requestFilters = decodable ? chain.requestFilters(apiKey, apiVersion) : NO_FILTERS
  const route: Route =
    decodable && BUILT_IN_APIS.has(apiKey)
      ? 'hold'
      : requestFilters.length === 0
        ? 'pass'
        : onlyObservers(requestFilters)
          ? 'observe'
          : 'hold'
  return { apiKey, apiVersion, correlationId, expectsResponse, decodable, route, requestFilters }
}

/**
 * The client id of each request header, decoded only when its bytes differ from the previous request's (the common
 * case is the same id on every request: a byte compare, no string decode).
 */
export class ClientIdReader {
  private last: Buffer | undefined
  /** The client id of the latest request (null: none sent yet, or the client sends none). */
  id: string | null = null

  /** Reads the client id of the request whose frame starts `head`; true when it differs from the previous one. */
  read(head: Buffer): boolean {
    const n = head.length >= 14 ? head.readInt16BE(12) : -1
    // Fewer bytes than the client id needs: a header split across reads (Frame.peek retries with all of it).
    if (n > 0 && head.length < 14 + n) throw new TruncatedInputError('client id', n, head.length - 14, 14)
    const prev = this.last
    if (prev !== undefined && n === prev.length && sameBytes(head, 14, prev)) return false
    const id = peekClientId(head, 4)
    this.last = n >= 0 ? Buffer.from(head.subarray(14, 14 + n)) : undefined
    if (id === this.id) return false
    this.id = id
    return true
  }
}

/** The request size limits screenRequest applies (LimitsConfig). */
export interface RequestSizeLimits {
  readonly maxUnauthenticatedFrameBytes: number
  readonly maxNonRecordRequestBytes: number
}

/**
 * Requests a client sends before it is known: version negotiation and SASL (KIP-43, KIP-152). Kafka's broker caps
 * what it reads before and during SASL authentication at sasl.server.max.receive.size (512 KiB by default,
 * BrokerSecurityConfigs.DEFAULT_SASL_SERVER_MAX_RECEIVE_SIZE) and closes the connection beyond it.
 */
const UNAUTHENTICATED_APIS: ReadonlySet<number> = new Set<number>([
  ApiKey.ApiVersions,
  ApiKey.SaslHandshake,
  ApiKey.SaslAuthenticate,
])

/** A request larger than its API may be; the connection is closed before its body is read. */
export class RequestTooLargeError extends SidecarError {
  constructor(what: string, size: number, max: number, key: string) {
    super(
      'KSC_ERR_REQUEST_TOO_LARGE',
      `${what} of ${size} bytes exceeds ${max} bytes (limits.${key}; raise it if this client is legitimate)`,
    )
  }
}

/** A request version the codec cannot decode, of an API a filter must see: forwarding it would bypass the filter. */
export class UndecodableForFilterError extends SidecarError {
  constructor(apiKey: number, apiVersion: number) {
    const api = API_DEFINITIONS[apiKey]!
    super(
      'KSC_ERR_REQUEST_UNSUPPORTED_VERSION',
      `${api.name} v${apiVersion} cannot be decoded (the codec knows v${api.request.minVersion}-${api.request.maxVersion}) and a filter must see every ${api.name} request; the client should use the versions ApiVersions offered`,
    )
  }
}

/**
 * Checks a request as soon as its header is in, before its body is read or buffered (`head` starts at the size
 * prefix and holds at least 8 bytes, or the whole frame; `size` is the frame's, prefix included): an API key the
 * codec does not know, a size over the limit for its API, or a version no filter that must see it can decode is
 * refused at once. `bareToken`: the frame is a SASL v0 token (no Kafka header), capped like the handshake.
 */
export function screenRequest(
  head: Buffer,
  size: number,
  limits: RequestSizeLimits,
  chain: FilterChain,
  bareToken: boolean,
): void {
  if (bareToken) {
    if (size > limits.maxUnauthenticatedFrameBytes) {
      throw new RequestTooLargeError(
        'a SASL token',
        size,
        limits.maxUnauthenticatedFrameBytes,
        'maxUnauthenticatedFrameBytes',
      )
    }
    return
  }
  if (head.length < 8) return // too short to judge: the whole-frame path reads it (a frame this short is tiny)
  const apiKey = head.readInt16BE(4)
  const apiVersion = head.readInt16BE(6)
  const api = API_DEFINITIONS[apiKey]
  if (api === undefined || apiVersion < 0) throw new UnknownApiKeyError(apiKey)
  if (UNAUTHENTICATED_APIS.has(apiKey) && size > limits.maxUnauthenticatedFrameBytes) {
    throw new RequestTooLargeError(
      `${api.name} request`,
      size,
      limits.maxUnauthenticatedFrameBytes,
      'maxUnauthenticatedFrameBytes',
    )
  }
  if (apiKey !== ApiKey.Produce && size > limits.maxNonRecordRequestBytes) {
    throw new RequestTooLargeError(
      `${api.name} request`,
      size,
      limits.maxNonRecordRequestBytes,
      'maxNonRecordRequestBytes',
    )
  }
  if (!canDecode(apiKey, apiVersion) && chain.mustDecodeRequest(apiKey, apiVersion)) {
    throw new UndecodableForFilterError(apiKey, apiVersion)
  }
}

/** head[at, at + b.length) equals b: a loop, cheaper than Buffer.compare's native call for a client id's few bytes. */
function sameBytes(head: Buffer, at: number, b: Buffer): boolean {
  for (let i = 0; i < b.length; i++) if (head[at + i] !== b[i]) return false
  return true
}
