import type { HostPort } from '../config/host-port.js'
import type { EndpointKind } from './broker-port-plan.js'

export interface UpstreamNode extends HostPort {
  readonly rack: string | null | undefined
}

/**
 * What the sidecar knows about the upstream cluster: the bootstrap servers from configuration and, per node
 * id, the real address the brokers advertised (learned from every Metadata, FindCoordinator, DescribeCluster
 * and NodeEndpoints carrier that passes through, and from the sidecar's own metadata refreshes).
 * A node that changes address is simply updated: its local listener stays where it is.
 */
export class UpstreamDirectory {
  private readonly nodes = new Map<string, UpstreamNode>()
  private readonly listeners = new Set<(kind: EndpointKind, nodeId: number, node: UpstreamNode) => void>()

  constructor(readonly bootstrap: readonly HostPort[]) {}

  observe(kind: EndpointKind, nodeId: number, node: UpstreamNode): void {
    const k = `${kind}:${nodeId}`
    const prev = this.nodes.get(k)
    if (prev && prev.host === node.host && prev.port === node.port && prev.rack === node.rack) return
    this.nodes.set(k, node)
    for (const l of this.listeners) l(kind, nodeId, node)
  }

  addressOf(kind: EndpointKind, nodeId: number): UpstreamNode | undefined {
    return this.nodes.get(`${kind}:${nodeId}`)
  }

  /** Called whenever a node is seen for the first time or at a new address. */
  onChange(listener: (kind: EndpointKind, nodeId: number, node: UpstreamNode) => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  get size(): number {
    return this.nodes.size
  }
}
