import { SidecarError } from '../errors.js'

/**
 * Where the local listener standing for an upstream node listens: `portBase + nodeId` unless a port is
 * configured for that node explicitly. Deterministic across sidecar restarts and broker address changes:
 * a client that cached "node 2 is at localhost:9095" before a restart still reaches node 2 after it.
 * Controllers (DescribeCluster with endpoint type controller, DescribeQuorum) get their own range, since a
 * controller and a broker may share a node id while listening on different upstream addresses.
 */
export interface BrokerPortPlan {
  readonly bindHost: string
  /** The host name written into responses; what clients connect to. */
  readonly advertisedHost: string
  readonly portBase: number
  readonly ports: Readonly<Record<string, number>>
  /** Port of controller N: controllerPortBase + N. */
  readonly controllerPortBase: number
}

export type EndpointKind = 'broker' | 'controller'

/** Controllers sit this many ports above the broker range: controller N listens on portBase + 1000 + N. */
export const CONTROLLER_PORT_OFFSET = 1000

export class BrokerPortOutOfRangeError extends SidecarError {
  constructor(kind: EndpointKind, nodeId: number, port: number) {
    super(
      'KSC_ERR_LISTENER_PORT_RANGE',
      `${kind} node ${nodeId} would listen on port ${port}, outside 1-65535: lower brokers.portBase or map this node explicitly under brokers.ports`,
    )
  }
}

export function localPortFor(plan: BrokerPortPlan, kind: EndpointKind, nodeId: number): number {
  const explicit = kind === 'broker' ? plan.ports[String(nodeId)] : undefined
  const port = explicit ?? (kind === 'broker' ? plan.portBase : plan.controllerPortBase) + nodeId
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new BrokerPortOutOfRangeError(kind, nodeId, port)
  return port
}
