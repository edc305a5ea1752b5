import type { Direction, TapSpec } from './config.js'
import { Redactor } from './redact.js'
import { Selection } from './selection.js'

/** A tap as it runs: its spec compiled, where it came from, and when it ends. */
export class ActiveTap {
  readonly selection: Selection
  readonly redactor: Redactor
  /** Until stopped: a stopped tap takes no new copies; copies it already took are still produced. */
  stopped = false

  constructor(
    readonly spec: TapSpec,
    readonly origin: 'config' | 'admin',
    readonly startedAt: number,
    /** Epoch ms after which it stops by itself (admin taps). */
    readonly expiresAt: number | undefined,
    random?: () => number,
  ) {
    this.selection = new Selection(spec.match, spec.sample, random)
    this.redactor = new Redactor(spec.redact)
  }

  get name(): string {
    return this.spec.name
  }

  /** What the admin endpoint shows of it. */
  describe(): Record<string, unknown> {
    return {
      ...this.spec,
      origin: this.origin,
      startedAt: new Date(this.startedAt).toISOString(),
      ...(this.expiresAt !== undefined && { expiresAt: new Date(this.expiresAt).toISOString() }),
    }
  }
}

/**
 * The taps running now, config and admin ones, with a generation that changes whenever the set does, so
 * per-connection choices made from it (which taps match this client) are made again.
 */
export class TapSet {
  private taps: readonly ActiveTap[] = []
  private destinationTopics = new Set<string>()
  generation = 0

  get all(): readonly ActiveTap[] {
    return this.taps
  }

  get(name: string): ActiveTap | undefined {
    return this.taps.find((t) => t.name === name)
  }

  replace(taps: readonly ActiveTap[]): void {
    this.taps = taps
    // Records of a tap's own topic are never tapped: a consumer reading it through this sidecar would otherwise feed
    // it its own copies, without end.
    this.destinationTopics = new Set(taps.map((t) => t.spec.topic))
    this.generation++
  }

  isDestination(topic: string): boolean {
    return this.destinationTopics.has(topic)
  }

  /** Whether any tap running now copies this direction (so messages of it must be looked at). */
  any(direction: Direction): boolean {
    return this.taps.some((t) => t.selection.wants(direction))
  }
}
