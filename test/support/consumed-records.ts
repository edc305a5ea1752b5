/**
 * The records a kafkajs consumer in a group handed out, kept by topic, partition and offset. A group may hand a
 * partition out again after a rebalance (delivery is at least once), which is a redelivery, not a record the log
 * holds twice: a test that counted deliveries could stop waiting with redelivered records in place of some not yet
 * read (CI saw it: 200 deliveries of 200 records, one partition twice and the other half missing). Records the log
 * really holds twice still show, at offsets of their own.
 */
export class ConsumedRecords<T> {
  private readonly byOffset = new Map<string, T>()
  /** Every delivery, redeliveries included. */
  deliveries = 0

  add(topic: string, partition: number, offset: string, record: T): void {
    this.deliveries++
    this.byOffset.set(`${topic}\u0000${partition}\u0000${offset}`, record)
  }

  /** Records read, each offset once. */
  get size(): number {
    return this.byOffset.size
  }

  /** Deliveries of an offset already read. */
  get redelivered(): number {
    return this.deliveries - this.byOffset.size
  }

  /** The records read, each offset once, in the order first read. */
  records(): T[] {
    return [...this.byOffset.values()]
  }
}
