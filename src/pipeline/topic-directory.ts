import type { MetadataResponse } from '../../codec/messages/generated/metadata-response.js'
import { ZERO_UUID } from '../../codec/messages/message-defaults.js'
import type { TopicId } from './filter-api.js'

/** Beyond this many topics the directory starts over rather than grow without bound (ids are cheap to re-learn). */
const MAX_TOPICS = 100_000

/**
 * Topic id <-> name, for the whole sidecar (ids are cluster-wide). Learned from every Metadata response that
 * passes (v10+ carries both) and from the answers to lookups the runtime makes itself (FilterContext.topicNames).
 * A topic deleted and re-created gets a new id: the newest pairing wins for both directions.
 */
export class TopicDirectory {
  private readonly names = new Map<TopicId, string>()
  private readonly ids = new Map<string, TopicId>()

  nameOf(id: TopicId): string | undefined {
    return this.names.get(id)
  }

  idOf(name: string): TopicId | undefined {
    return this.ids.get(name)
  }

  learn(id: TopicId, name: string): void {
    // The zero id is "no id": topics a Metadata response failed (MetadataResponse.json TopicId, Uuid.ZERO_UUID).
    if (id === ZERO_UUID || name === '') return
    if (this.names.get(id) === name) return
    if (this.names.size >= MAX_TOPICS) {
      this.names.clear()
      this.ids.clear()
    }
    const oldId = this.ids.get(name)
    if (oldId !== undefined && oldId !== id) this.names.delete(oldId)
    this.names.set(id, name)
    this.ids.set(name, id)
  }

  /** Every topic with both an id and a name in a Metadata response (v10+). */
  learnFromMetadata(body: MetadataResponse): void {
    for (const t of body.topics) {
      if (t.topicId !== undefined && t.name !== null && t.name !== undefined) this.learn(t.topicId, t.name)
    }
  }

  get size(): number {
    return this.names.size
  }
}
