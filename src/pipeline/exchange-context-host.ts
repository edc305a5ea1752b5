import type { BuiltInProtocol } from './built-in-protocol.js'
import type { ConnectionState } from './connection-state.js'
import type { ExchangePort } from './exchange-port.js'
import type { Filter, FilterContext, SentResponse } from './filter-api.js'
import type { FilterChain } from './filter-chain.js'
import type { ContextHost } from './filter-context.js'
import type { Frame } from './frame.js'
import { OwnRequests } from './own-requests.js'
import type { Slot } from './slot.js'
import type { SlotQueues } from './slot-queues.js'

/**
 * What the filter contexts of one connection ask of its exchange (ContextHost): requests of the filters' own over its
 * upstream connection (own-requests.ts), the versions its broker supports, and muting the client.
 */
export class ExchangeContextHost implements ContextHost {
  /** Made on a filter's first request of its own: most connections never send one. */
  private ownRequests: OwnRequests | undefined

  constructor(
    private readonly state: ConnectionState,
    private readonly chain: FilterChain,
    private readonly ctxFor: (f: Filter) => FilterContext,
    private readonly slots: SlotQueues,
    private readonly port: ExchangePort,
    private readonly builtIn: BuiltInProtocol,
  ) {}

  /** A request of the filter at `position` (FilterContext.sendRequest). */
  sendOwnRequest(
    position: number,
    apiKey: number,
    apiVersion: number,
    body: unknown,
    expectResponse: boolean,
  ): Promise<SentResponse | undefined> {
    return this.own.send(position, apiKey, apiVersion, body, expectResponse)
  }

  /** The broker's answer to one of them (a slot with `own` set): it goes to the caller, never to the client. */
  answerOwn(slot: Slot, frame: Frame): void {
    this.own.answer(slot, frame)
  }

  usableVersion(apiKey: number, min: number): number | undefined {
    return this.builtIn.usableVersion(apiKey, min)
  }

  wantsChanged(): void {
    this.chain.forgetWants()
  }

  muteClient(ms: number): void {
    this.port.muteClient(ms)
  }

  private get own(): OwnRequests {
    this.ownRequests ??= new OwnRequests({
      chain: this.chain,
      ctxFor: this.ctxFor,
      unavailable: () => this.ownRequestsUnavailable(),
      clientId: () => this.state.clientId,
      send: (frame, slot) => {
        if (slot !== undefined) this.slots.upstream.push(slot)
        this.port.toUpstream(frame)
      },
      learn: (res) => this.builtIn.response(res),
      close: (reason) => this.port.close(reason),
      protocolError: (err) => this.port.protocolError('broker', err),
    })
    return this.ownRequests
  }

  private ownRequestsUnavailable(): string | undefined {
    const phase = this.port.phase
    // Before the broker connection is up, requests queue in the connection (which dials it) like the client's own.
    if (phase === 'closed') return 'the connection is closed'
    // The bare SASL v0 tokens are counted frame by frame: a request in between would be taken for one.
    if (this.builtIn.saslV0.active) {
      return 'a SASL v0 exchange is in progress'
    }
    return undefined
  }
}
