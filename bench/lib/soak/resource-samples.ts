/**
 * The sidecar's resident memory and open descriptors sampled every few seconds from /proc, per generation
 * (process), and the trend over each as a least-squares slope: a leak is a steady climb, which a start/end pair
 * can miss or invent (one burst at the end), but a fit over hundreds of samples shows.
 */
import { readdirSync } from 'node:fs'
import { rssMb } from '../proc.js'

export interface ResourceSample {
  generation: number
  /** Seconds since the soak started. */
  t: number
  rssMb: number
  fds: number
}

export interface GenerationTrend {
  generation: number
  /** Seconds the generation was sampled for, and how many samples that gave. */
  seconds: number
  samples: number
  /** Samples left out at the start (start-up and warm-up: buffers, JIT, connection pools fill once). */
  warmupSamples: number
  rssStartMb: number
  rssEndMb: number
  rssPeakMb: number
  /** Least-squares slope over the samples after the warm-up; NaN with fewer than 3. */
  rssSlopeMbPerHour: number
  fdsStart: number
  fdsEnd: number
  fdsPeak: number
  fdsSlopePerHour: number
}

export function openFds(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length
}

/** Slope of the least-squares line through (x, y); NaN with fewer than 3 points or no spread in x. */
export function leastSquaresSlope(xs: readonly number[], ys: readonly number[]): number {
  const n = Math.min(xs.length, ys.length)
  if (n < 3) return Number.NaN
  let sx = 0
  let sy = 0
  for (let i = 0; i < n; i++) {
    sx += xs[i]!
    sy += ys[i]!
  }
  const mx = sx / n
  const my = sy / n
  let sxy = 0
  let sxx = 0
  for (let i = 0; i < n; i++) {
    sxy += (xs[i]! - mx) * (ys[i]! - my)
    sxx += (xs[i]! - mx) ** 2
  }
  return sxx === 0 ? Number.NaN : sxy / sxx
}

/**
 * The trend of one generation's samples. The warm-up left out is the first `warmupSeconds`, but never more than a
 * quarter of the generation, so a short one still has a slope.
 */
export function trendOf(samples: readonly ResourceSample[], warmupSeconds: number): GenerationTrend | undefined {
  if (samples.length === 0) return undefined
  const first = samples[0]!
  const last = samples.at(-1)!
  const seconds = last.t - first.t
  const warmup = Math.min(warmupSeconds, seconds / 4)
  const steady = samples.filter((s) => s.t - first.t >= warmup)
  const hours = steady.map((s) => s.t / 3600)
  return {
    generation: first.generation,
    seconds,
    samples: samples.length,
    warmupSamples: samples.length - steady.length,
    rssStartMb: first.rssMb,
    rssEndMb: last.rssMb,
    rssPeakMb: Math.max(...samples.map((s) => s.rssMb)),
    rssSlopeMbPerHour: leastSquaresSlope(
      hours,
      steady.map((s) => s.rssMb),
    ),
    fdsStart: first.fds,
    fdsEnd: last.fds,
    fdsPeak: Math.max(...samples.map((s) => s.fds)),
    fdsSlopePerHour: leastSquaresSlope(
      hours,
      steady.map((s) => s.fds),
    ),
  }
}

export class ResourceSampler {
  readonly samples: ResourceSample[] = []
  readonly #target: () => { generation: number; pid: number } | undefined
  readonly #startedAt: number
  #timer: NodeJS.Timeout | undefined

  constructor(target: () => { generation: number; pid: number } | undefined, startedAt: number) {
    this.#target = target
    this.#startedAt = startedAt
  }

  start(intervalMs: number): void {
    this.#sample()
    this.#timer = setInterval(() => this.#sample(), intervalMs)
  }

  stop(): void {
    clearInterval(this.#timer)
  }

  latest(): ResourceSample | undefined {
    return this.samples.at(-1)
  }

  trends(warmupSeconds: number): GenerationTrend[] {
    const byGeneration = new Map<number, ResourceSample[]>()
    for (const s of this.samples) {
      const list = byGeneration.get(s.generation) ?? []
      list.push(s)
      byGeneration.set(s.generation, list)
    }
    return [...byGeneration.values()].flatMap((list) => trendOf(list, warmupSeconds) ?? [])
  }

  #sample(): void {
    const target = this.#target()
    if (!target) return
    try {
      this.samples.push({
        generation: target.generation,
        t: (Date.now() - this.#startedAt) / 1000,
        rssMb: rssMb(target.pid),
        fds: openFds(target.pid),
      })
    } catch {
      // the process is gone between the lookup and the read (a handover): the next sample has its successor
    }
  }
}
