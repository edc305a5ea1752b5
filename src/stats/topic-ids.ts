/**
 * Topic ids and the names they stand for, as the stats filter sees them in Metadata answers (v10+), so that the
 * messages that name topics by id only (newer Fetch and Produce versions) count towards the topic's name. Bounded: a
 * cluster with more topics than MAX_TOPIC_IDS has the map cleared and refilled rather than grow without end.
 */

const MAX_TOPIC_IDS = 100_000

export class TopicIds {
  private readonly names = new Map<string, string>()

  seen(topicId: string, name: string): void {
    if (this.names.get(topicId) === name) return
    if (this.names.size >= MAX_TOPIC_IDS) this.names.clear()
    this.names.set(topicId, name)
  }

  name(topicId: string): string | undefined {
    return this.names.get(topicId)
  }
}
