import { API_DEFINITIONS, ApiKey } from '../../codec/messages/generated/apis.js'
import type { DescribeClusterResponse } from '../../codec/messages/generated/describe-cluster-response.js'
import type { Reader } from '../../codec/primitives/reader.js'
import {
  type ConfiguredFilter,
  type DecodedResponse,
  type Filter,
  type FilterContext,
  type FilterPlugin,
  type MaybePromise,
  type ResponseVerdict,
  replace,
} from '../../src/pipeline/filter-api.js'
import { endpointPlan, endpointTags, visitEndpoints } from './endpoint-walker.js'

/**
 * Built-in: the client never learns a real broker address. Every endpoint in every response is replaced by
 * the local listener standing for that node (started on first sight), and the real address is remembered so
 * that connections to the local listener reach the right broker.
 */

/** APIs whose endpoints name controllers rather than brokers. */
const CONTROLLER_APIS = new Set<number>([
  ApiKey.DescribeQuorum,
  ApiKey.Vote,
  ApiKey.BeginQuorumEpoch,
  ApiKey.EndQuorumEpoch,
  ApiKey.FetchSnapshot,
  ApiKey.UpdateRaftVoter,
])

/** DescribeCluster v1+ EndpointType: 1 brokers, 2 controllers (KIP-919). */
const ENDPOINT_TYPE_CONTROLLER = 2

function kindOf(res: DecodedResponse): 'broker' | 'controller' {
  if (CONTROLLER_APIS.has(res.apiKey)) return 'controller'
  if (
    res.apiKey === ApiKey.DescribeCluster &&
    (res.body as DescribeClusterResponse).endpointType === ENDPOINT_TYPE_CONTROLLER
  ) {
    return 'controller'
  }
  return 'broker'
}

export class BrokerAddressFilter implements Filter {
  /**
   * Reads no records. It changes Fetch responses (which carry records) only when needsResponse found endpoints in
   * one; the runtime then decodes that response with its record bytes, because this filter is not an observer.
   */
  readonly records = 'summary'

  wantsResponse(apiKey: number, apiVersion: number): boolean {
    const name = API_DEFINITIONS[apiKey]?.response.name
    return name !== undefined && endpointPlan(name, apiVersion) !== null
  }

  /**
   * Fetch and Produce responses carry endpoints only in a top-level tagged field, present after a leader moved:
   * scan the top-level tags (skipping the rest without building it) and decode only when one is there.
   */
  needsResponse(apiKey: number, apiVersion: number, r: Reader): boolean {
    const codec = API_DEFINITIONS[apiKey]!.response
    const tags = endpointTags(codec.name, apiVersion)
    if (tags === 'always') return true
    if (tags.size === 0) return false
    codec.skip(r, apiVersion, true)
    const count = r.uvarint()
    for (let i = 0; i < count; i++) {
      const tag = r.uvarint()
      if (tags.has(tag)) return true
      r.skip(r.uvarint(), 'tagged field')
    }
    return false
  }

  onResponse(res: DecodedResponse, ctx: FilterContext): MaybePromise<ResponseVerdict | undefined> {
    const name = API_DEFINITIONS[res.apiKey]!.response.name
    const kind = kindOf(res)
    const pending: Promise<void>[] = []
    let found = false
    visitEndpoints(name, res.apiVersion, res.body, (nodeId, ep) => {
      found = true
      const local = ctx.brokers.localEndpointFor(nodeId, { host: ep.host, port: ep.port, rack: ep.rack }, kind)
      if (local instanceof Promise) {
        pending.push(
          local.then((l) => {
            ep.host = l.host
            ep.port = l.port
          }),
        )
      } else {
        ep.host = local.host
        ep.port = local.port
      }
    })
    if (!found) return undefined
    if (pending.length > 0) return Promise.all(pending).then(() => replace(res.body))
    return replace(res.body)
  }
}

const filter = new BrokerAddressFilter()

export const brokerAddressPlugin: FilterPlugin<undefined> = {
  name: 'broker-address',
  parseConfig: () => undefined,
  configure: (): ConfiguredFilter => ({ name: 'broker-address', forConnection: () => filter }),
}
