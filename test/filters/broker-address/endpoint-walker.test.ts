import { describe, expect, it } from 'vitest'
import { API_DEFINITIONS } from '../../../codec/messages/generated/apis.js'
import { endpointPlan } from '../../../filters/broker-address/endpoint-walker.js'

/** Every response that carries a broker endpoint, found from the schema: pins the carriers PROTOCOL.md lists. */
function carriers(): Record<string, string> {
  const found: Record<string, string> = {}
  for (const api of API_DEFINITIONS) {
    if (!api) continue
    const versions: number[] = []
    for (let v = api.response.minVersion; v <= api.response.maxVersion; v++)
      if (endpointPlan(api.response.name, v)) versions.push(v)
    if (versions.length > 0) found[api.name] = `${versions[0]}-${versions.at(-1)}`
  }
  return found
}

describe('broker endpoint carriers', () => {
  it('are exactly the ones Kafka 4.4 defines (KIP-951 NodeEndpoints, both FindCoordinator shapes, DescribeQuorum listeners)', () => {
    expect(carriers()).toEqual({
      Produce: '10-13',
      Fetch: '16-18',
      Metadata: '0-13',
      FindCoordinator: '0-6',
      DescribeCluster: '0-2',
      DescribeQuorum: '2-2',
      ShareFetch: '1-2',
      ShareAcknowledge: '1-2',
      // Controller-to-controller Raft RPCs: never from clients, rewritten all the same.
      Vote: '1-2',
      BeginQuorumEpoch: '1-1',
      EndQuorumEpoch: '1-1',
      FetchSnapshot: '1-1',
      UpdateRaftVoter: '0-0',
    })
  })

  it('leaves Kafka Streams user endpoints (host/port without a node id, KIP-1071) alone', () => {
    expect(endpointPlan('StreamsGroupHeartbeatResponse', 1)).toBeNull()
    expect(endpointPlan('StreamsGroupDescribeResponse', 1)).toBeNull()
  })
})
