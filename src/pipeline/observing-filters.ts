import { CodecError } from '../../codec/errors.js'
import type { BuiltInProtocol } from './built-in-protocol.js'
import type { ExchangePort } from './exchange-port.js'
import type { DecodedRequest, DecodedResponse, Filter, FilterContext } from './filter-api.js'
import type { FilterChain } from './filter-chain.js'
import type { Slot } from './slot.js'

/**
 * Filters that only observe (Filter.observesOnly) see a message after it went on: a request once it is on its way to
 * the broker, a response once it is on its way to the client, whole or streamed. Nothing waits for them (their
 * verdicts are only reported by the chain), and a message they cannot decode is only counted, since the peer that
 * got it judges it.
 */
export class ObservingFilters {
  constructor(
    private readonly chain: FilterChain,
    private readonly ctxFor: (f: Filter) => FilterContext,
    private readonly port: ExchangePort,
    private readonly builtIn: BuiltInProtocol,
  ) {}

  /** Hands a request that already went to the broker, decoded, to the filters that only observe it. */
  request(decode: () => DecodedRequest, slot: Slot, filters: readonly Filter[]): void {
    let req: DecodedRequest
    try {
      req = decode()
    } catch (err) {
      // The broker has it and will answer for it (a malformed request is the broker's to reject); only counted here.
      this.port.report(err instanceof CodecError ? err.code : 'KSC_ERR_FILTER_OBSERVE', err)
      return
    }
    slot.request = req
    this.chain.runRequest(filters, req, this.ctxFor) // observers only: never waited for, verdicts reported
  }

  /** Hands a response that already went to the client, decoded, to the filters that only observe it. */
  response(decode: () => DecodedResponse, filters: readonly Filter[]): void {
    let res: DecodedResponse
    try {
      res = decode()
    } catch (err) {
      // The client already has the response; a response the observers cannot decode is only counted.
      this.port.report(err instanceof CodecError ? err.code : 'KSC_ERR_FILTER_OBSERVE', err)
      return
    }
    this.builtIn.response(res)
    this.chain.runResponse(filters, res, this.ctxFor) // observers only: never waited for, verdicts reported
  }
}
