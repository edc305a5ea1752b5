import type { ConnectionState } from './connection-state.js'
import type { ExchangePort, ExchangeRuntime } from './exchange-port.js'
import type { Filter, FilterContext } from './filter-api.js'
import type { FilterChain } from './filter-chain.js'
import { ClientIdReader } from './request-plan.js'

/**
 * The client id of one connection, read off each request's header: a new or changed id is bound to the connection's
 * log and told to the runtime's observers (statistics) and to the filters that watch it (onClientId), any of which
 * may refuse it.
 */
export class ClientIdentity {
  private readonly reader = new ClientIdReader()

  constructor(
    private readonly state: ConnectionState,
    private readonly rt: ExchangeRuntime,
    private readonly chain: FilterChain,
    private readonly ctxFor: (f: Filter) => FilterContext,
    private readonly port: ExchangePort,
  ) {}

  /**
   * Notes the client id of a request header (`head` starts at the size prefix). False when a filter refused a new
   * client id and closed the connection.
   */
  note(head: Buffer): boolean {
    if (!this.reader.read(head)) return true
    const id = this.reader.id
    this.state.bindLog({ clientId: id })
    this.rt.observer.identified(this.state)
    for (const f of this.chain.clientIdWatchers) {
      const verdict = f.onClientId!(id, this.ctxFor(f))
      if (verdict?.kind === 'close') {
        this.port.close(`filter refused client id ${JSON.stringify(id)}: ${verdict.reason}`)
        return false
      }
    }
    return true
  }
}
