/**
 * Summaries of repeated measurements. Benchmarks report the median (robust to one disturbed repetition on a
 * shared machine) with the full range, so a reader sees how far apart the repetitions were.
 */
export interface Spread {
  median: number
  min: number
  max: number
  n: number
}

export function median(xs: readonly number[]): number {
  return quantile(xs, 0.5)
}

/** Linear-interpolated quantile (q in [0, 1]) of the finite values; NaN when there are none. */
export function quantile(xs: readonly number[], q: number): number {
  const sorted = xs.filter(Number.isFinite).sort((a, b) => a - b)
  if (sorted.length === 0) return Number.NaN
  const at = (sorted.length - 1) * q
  const lo = Math.floor(at)
  const hi = Math.ceil(at)
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (at - lo)
}

export function spread(xs: readonly number[]): Spread {
  const finite = xs.filter(Number.isFinite)
  if (finite.length === 0) return { median: Number.NaN, min: Number.NaN, max: Number.NaN, n: 0 }
  return { median: median(finite), min: Math.min(...finite), max: Math.max(...finite), n: finite.length }
}

/** "12.3 (11.9-12.8)": median with the range of the repetitions, in `digits` decimals. */
export function formatSpread(s: Spread, digits = 1): string {
  if (s.n === 0) return 'n/a'
  if (s.n === 1 || s.min === s.max) return s.median.toFixed(digits)
  return `${s.median.toFixed(digits)} (${s.min.toFixed(digits)}-${s.max.toFixed(digits)})`
}

/**
 * Percentiles of a set of samples (nearest rank), for drivers that time every request themselves.
 * Sorts a copy; fine for the up to a few million samples a driver run collects.
 */
export function percentiles(samples: readonly number[], qs: readonly number[]): number[] {
  if (samples.length === 0) return qs.map(() => Number.NaN)
  const sorted = Float64Array.from(samples).sort()
  return qs.map((q) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!)
}
