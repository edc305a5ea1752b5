import type { MetadataRequest } from '../../codec/messages/generated/metadata-request.js'
import type { MetadataResponse } from '../../codec/messages/generated/metadata-response.js'
import { ApiKey, type Clock, type FilterContext } from '../../src/pipeline/filter-api.js'
import type { NameMapper } from './name-mapper.js'

/**
 * The cluster as a canary client sees it. Metadata responses themselves are rewritten by the carrier walk like every
 * other message: each topic under the client's name (`orders` with the topic id, partitions and leaders of
 * `orders-canary`), and a topic whose real name has no client name (the real `orders`) left out of the topics array,
 * so a client listing or matching topics never sees two topics that would map to one name. Topic ids need no
 * renaming: the id the client learns for `orders` is the canary topic's, and every message that names a topic by id
 * (Fetch v13+, Produce v13, KIP-848 assignments) then reaches the canary topic as it is.
 *
 * What this module adds is the whole topic list in the client's names, for what the sidecar must match on the
 * client's behalf: a KIP-848 regex subscription (regex-subscription.ts).
 */

/** The client's names of the cluster's topics: mapped back, hidden ones left out. */
export function clientTopicNames(realNames: readonly string[], topics: NameMapper): string[] {
  const out: string[] = []
  for (const real of realNames) {
    const c = topics.toClient(real)
    if (c !== undefined) out.push(c)
  }
  return out
}

/**
 * The cluster's topic names, asked with a Metadata request of the filter's own (all topics) and kept for `maxAgeMs`;
 * one lookup at a time, shared by every connection of a configured filter.
 */
export class TopicList {
  private names: readonly string[] | undefined
  private at = Number.NEGATIVE_INFINITY
  private pending: Promise<readonly string[]> | undefined

  constructor(
    private readonly clock: Clock,
    private readonly maxAgeMs: number,
  ) {}

  get(ctx: FilterContext): Promise<readonly string[]> {
    if (this.names !== undefined && this.clock.monotonic() - this.at < this.maxAgeMs) {
      return Promise.resolve(this.names)
    }
    this.pending ??= this.lookUp(ctx).finally(() => {
      this.pending = undefined
    })
    return this.pending
  }

  private async lookUp(ctx: FilterContext): Promise<readonly string[]> {
    const version = ctx.apiVersion(ApiKey.Metadata)
    if (version === undefined) throw new Error('the broker did not say which Metadata versions it supports')
    // Metadata v1+: a null topic list asks for every topic (MetadataRequest.json Topics).
    const req: MetadataRequest = {
      topics: null,
      allowAutoTopicCreation: false,
      includeClusterAuthorizedOperations: false,
      includeTopicAuthorizedOperations: false,
    }
    const res = await ctx.sendRequest(ApiKey.Metadata, Math.max(version, 1), req)
    const body = res.body as MetadataResponse
    this.names = body.topics.filter((t) => t.errorCode === 0 && t.name != null).map((t) => t.name as string)
    this.at = this.clock.monotonic()
    return this.names
  }
}
