import { canDecode, encodeRequest } from '../../codec/messages/frames.js'
import { buildErrorResponse } from './error-responses.js'
import type {
  DecodedRequest,
  DecodedResponse,
  Filter,
  FilterContext,
  RequestVerdict,
  SentResponse,
} from './filter-api.js'
import { type FilterChain, isPromise } from './filter-chain.js'
import { Frame } from './frame.js'
import { decodeResponseFrame } from './message-decoding.js'
import { apiName, newSlot, type Slot } from './slot.js'

/**
 * Requests the filters send themselves over the client's upstream connection (FilterContext.sendRequest), after
 * Kroxylicious' FilterContext.sendRequest: the request passes only through the filters after the caller (towards
 * the broker), takes an upstream correlation id of the sidecar's own and a slot only in the upstream queue (the
 * broker answers a connection's requests in order, so that slot is where its answer lands), and is never in the
 * client's queue, so the client's pipelining and response order are untouched. The answer goes back through the
 * filters after the caller, to the caller alone.
 */

/** Upstream correlation ids of the sidecar's own requests: a range of their own, so logs tell them apart. */
const OWN_CORRELATION_BASE = 0x70000000

/** What sending needs from the exchange. */
export interface OwnRequestHost {
  readonly chain: FilterChain
  readonly ctxFor: (f: Filter) => FilterContext
  /** Why the connection cannot carry a request of the sidecar's own right now, if it cannot. */
  unavailable(): string | undefined
  /** The client id the sidecar's own requests carry (the client's, so the broker's quotas and logs see it). */
  clientId(): string | null
  /** Queues the slot for the broker's answer and writes the request. */
  send(frame: Frame, slot: Slot | undefined): void
  /** What the runtime learns from every decoded response (topic ids, versions). */
  learn(res: DecodedResponse): void
  close(reason: string): void
  protocolError(err: unknown): void
}

export class OwnRequests {
  private next = 0

  constructor(private readonly host: OwnRequestHost) {}

  send(
    position: number,
    apiKey: number,
    apiVersion: number,
    body: unknown,
    expectResponse: boolean,
  ): Promise<SentResponse | undefined> {
    const why = this.host.unavailable()
    if (why !== undefined) return Promise.reject(new Error(`cannot send ${apiName(apiKey)}: ${why}`))
    if (!canDecode(apiKey, apiVersion)) {
      return Promise.reject(new Error(`${apiName(apiKey)} v${apiVersion} is not a version the codec knows`))
    }
    this.next = (this.next + 1) & 0x0fffffff
    const correlationId = OWN_CORRELATION_BASE + this.next
    const req: DecodedRequest = {
      apiKey: apiKey as DecodedRequest['apiKey'],
      apiVersion,
      header: {
        requestApiKey: apiKey,
        requestApiVersion: apiVersion,
        correlationId,
        clientId: this.host.clientId() ?? 'kafka-sidecar',
      },
      size: 0,
      body: body as DecodedRequest['body'],
    }
    const { chain, ctxFor } = this.host
    return new Promise((resolve, reject) => {
      const go = (verdict: RequestVerdict): void => {
        const why = this.host.unavailable()
        if (why !== undefined) {
          reject(new Error(`cannot send ${apiName(apiKey)}: ${why}`))
          return
        }
        switch (verdict.kind) {
          case 'forward':
          case 'replace': {
            let frame: Buffer
            try {
              frame = encodeRequest(req.header, req.body)
            } catch (err) {
              reject(err as Error)
              return
            }
            ;(req as { size: number }).size = frame.length
            let slot: Slot | undefined
            if (expectResponse) {
              slot = newSlot(
                correlationId,
                apiKey,
                apiVersion,
                chain.responseFiltersAfter(position, apiKey, apiVersion),
                performance.now(),
              )
              slot.request = req
              slot.own = { resolve, reject }
            }
            this.host.send(Frame.of(frame), slot)
            if (!expectResponse) resolve(undefined)
            return
          }
          case 'respond':
            resolve({ apiKey: req.apiKey, apiVersion, body: verdict.body as SentResponse['body'] })
            return
          case 'error': {
            const errorBody = buildErrorResponse(req, verdict.errorCode, verdict.message)
            if (errorBody === undefined) reject(new Error(`a filter rejected the request with ${verdict.errorCode}`))
            else resolve({ apiKey: req.apiKey, apiVersion, body: errorBody as SentResponse['body'] })
            return
          }
          case 'reject-partitions':
            reject(new Error('rejectPartitions is not supported on a request a filter sent itself'))
            return
          case 'close':
            this.host.close(`filter closed the connection: ${verdict.reason}`)
            reject(new Error(`a filter closed the connection: ${verdict.reason}`))
            return
        }
      }
      try {
        const outcome = chain.runRequest(chain.requestFiltersAfter(position, apiKey, apiVersion), req, ctxFor)
        if (isPromise(outcome)) outcome.then((o) => go(o.verdict), reject)
        else go(outcome.verdict)
      } catch (err) {
        reject(err as Error)
      }
    })
  }

  /** The broker's answer to one of them: decoded, back through the filters after the caller, to the caller. */
  answer(slot: Slot, frame: Frame): void {
    const own = slot.own!
    let res: DecodedResponse
    try {
      res = decodeResponseFrame(frame, slot.apiKey, slot.apiVersion, false, slot.request)
    } catch (err) {
      own.reject(err as Error)
      this.host.protocolError(err)
      return
    }
    this.host.learn(res)
    const settle = (verdict: { kind: string; reason?: string }): void => {
      if (verdict.kind === 'close') {
        own.reject(new Error(`a filter closed the connection: ${verdict.reason}`))
        this.host.close(`filter closed the connection: ${verdict.reason}`)
      } else own.resolve({ apiKey: res.apiKey, apiVersion: res.apiVersion, body: res.body })
    }
    try {
      const outcome = this.host.chain.runResponse(slot.responseFilters, res, this.host.ctxFor)
      if (isPromise(outcome))
        outcome.then(
          (o) => settle(o.verdict),
          (err) => own.reject(err as Error),
        )
      else settle(outcome.verdict)
    } catch (err) {
      own.reject(err as Error)
    }
  }
}
