/**
 * Label cardinality control. Prometheus keeps one time series per label set, so a label whose values come from
 * clients (client ids, topic and group names) must be bounded: the first `max` distinct values get their own
 * label value, later ones are folded into `other` and counted. (Envoy's Kafka filter declined per-client metrics
 * over this: envoyproxy/envoy#9816.) A value that is released (its client expired) frees its slot.
 */

export const OTHER = 'other'

/** Distinct folded values are remembered up to this many, to count each once; past it, repeats count again. */
const FOLDED_MEMORY = 100_000

export class LabelCap {
  private readonly admitted = new Set<string>()
  private readonly foldedSeen = new Set<string>()
  /** Distinct values folded into `other` since start. */
  folded = 0

  constructor(public max: number) {}

  /** True when `value` has (or now gets) a label of its own; false when it is folded into `other`. */
  admit(value: string): boolean {
    if (this.admitted.has(value)) return true
    if (this.admitted.size < this.max) {
      this.admitted.add(value)
      this.foldedSeen.delete(value)
      return true
    }
    if (!this.foldedSeen.has(value)) {
      this.folded++
      if (this.foldedSeen.size < FOLDED_MEMORY) this.foldedSeen.add(value)
    }
    return false
  }

  /** Whether `value` has a label of its own, without admitting it. */
  has(value: string): boolean {
    return this.admitted.has(value)
  }

  release(value: string): void {
    this.admitted.delete(value)
  }

  get size(): number {
    return this.admitted.size
  }
}
