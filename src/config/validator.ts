/**
 * The few checks the config schema needs, written by hand: each records a problem and returns a fallback value,
 * so that one pass finds every problem instead of stopping at the first.
 */

export type PathSegment = string | number

export interface RawIssue {
  readonly segments: readonly PathSegment[]
  readonly message: string
}

/** Upper bound of the integer settings: Kafka sizes and node ids are INT32s, and Node timers take no more milliseconds. */
export const INT32_MAX = 2_147_483_647

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/

/** `upstream.bootstrap[1]`, `brokers.ports["7"]`. */
export function pathString(segments: readonly PathSegment[]): string {
  let s = ''
  for (const seg of segments) {
    if (typeof seg === 'number') s += `[${seg}]`
    else if (IDENTIFIER.test(seg)) s += s === '' ? seg : `.${seg}`
    else s += `[${JSON.stringify(seg)}]`
  }
  return s
}

/** A value as it appears in a message: strings quoted, short JSON otherwise. */
export function describeValue(v: unknown): string {
  if (v === null || v === undefined) return 'null'
  if (Array.isArray(v)) return 'a list'
  if (typeof v === 'object') return 'a mapping'
  const s = typeof v === 'string' ? JSON.stringify(v) : String(v)
  return s.length > 80 ? `${s.slice(0, 77)}...` : s
}

/** Edit distance counting insertions, deletions, substitutions and adjacent transpositions ("hots" -> "host" is 1). */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  )
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      let best = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost)
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, d[i - 2]![j - 2]! + 1)
      d[i]![j] = best
    }
  }
  return d[a.length]![b.length]!
}

/** The closest candidate within a distance that still looks like a typo, compared case-insensitively. */
export function suggest(word: string, candidates: readonly string[]): string | undefined {
  const w = word.toLowerCase()
  let best: string | undefined
  let bestDistance = Math.max(1, Math.floor(word.length / 3)) + 1
  for (const c of candidates) {
    const d = editDistance(w, c.toLowerCase())
    if (d < bestDistance) {
      best = c
      bestDistance = d
    }
  }
  return best
}

function isMapping(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !Buffer.isBuffer(v)
}

export class Validator {
  readonly issues: RawIssue[] = []

  fail(segments: readonly PathSegment[], message: string): void {
    this.issues.push({ segments, message })
  }

  /**
   * A mapping with only `keys` (null: any keys); absent or null (an empty YAML section) gives `{}`.
   * Unknown keys are problems, with a suggestion when one is close.
   */
  mapping(value: unknown, at: readonly PathSegment[], keys: readonly string[] | null): Record<string, unknown> {
    if (value === undefined || value === null) return {}
    if (!isMapping(value)) {
      this.fail(
        at,
        `expected a mapping${keys === null ? '' : ` with keys ${keys.join(', ')}`}, got ${describeValue(value)}`,
      )
      return {}
    }
    if (keys === null) return value
    for (const k of Object.keys(value)) {
      if (keys.includes(k)) continue
      const near = suggest(k, keys)
      this.fail(
        [...at, k],
        near === undefined
          ? `unknown key; expected one of ${keys.join(', ')}`
          : `unknown key (did you mean "${near}"?)`,
      )
    }
    return value
  }

  /** An integer in [min, max]; decimal strings are accepted (environment variables, quoted YAML). */
  int(
    value: unknown,
    at: readonly PathSegment[],
    fallback: number,
    min: number,
    max: number,
    what = 'an integer',
  ): number {
    if (value === undefined) return fallback
    const expected = `expected ${what} ${min}-${max}`
    let n: number
    if (typeof value === 'number') n = value
    else if (typeof value === 'string' && /^\s*-?\d+\s*$/.test(value)) n = Number(value)
    else {
      this.fail(at, `${describeValue(value)} is not an integer (${expected})`)
      return fallback
    }
    if (!Number.isInteger(n)) {
      this.fail(at, `${describeValue(value)} is not an integer (${expected})`)
      return fallback
    }
    if (n < min || n > max) {
      this.fail(at, `${describeValue(value)} is out of range (${expected})`)
      return fallback
    }
    return n
  }

  /** true/false; the strings "true"/"false" are accepted (environment variables, quoted YAML). */
  bool(value: unknown, at: readonly PathSegment[], fallback: boolean): boolean {
    if (value === undefined) return fallback
    if (typeof value === 'boolean') return value
    if (value === 'true' || value === 'false') return value === 'true'
    this.fail(at, `${describeValue(value)} is not a boolean (expected true or false)`)
    return fallback
  }

  /** A non-empty string. */
  string(value: unknown, at: readonly PathSegment[], fallback: string, what = 'a non-empty string'): string {
    if (value === undefined) return fallback
    if (typeof value === 'string' && value.trim() !== '') return value
    this.fail(at, `${describeValue(value)} is not valid (expected ${what})`)
    return fallback
  }

  /** A non-empty string, or nothing (absent or null). */
  optionalString(value: unknown, at: readonly PathSegment[], what = 'a non-empty string'): string | undefined {
    if (value === undefined || value === null) return undefined
    return this.string(value, at, '', what) || undefined
  }

  /** One of a fixed set of strings. */
  choice<T extends string>(value: unknown, at: readonly PathSegment[], fallback: T, options: readonly T[]): T {
    if (value === undefined) return fallback
    if (typeof value === 'string' && (options as readonly string[]).includes(value)) return value as T
    const near = typeof value === 'string' ? suggest(value, options) : undefined
    this.fail(
      at,
      `${describeValue(value)} is not one of ${options.join(', ')}${near === undefined ? '' : ` (did you mean "${near}"?)`}`,
    )
    return fallback
  }

  /** A list; absent gives []. */
  list(value: unknown, at: readonly PathSegment[], what: string): readonly unknown[] {
    if (value === undefined || value === null) return []
    if (Array.isArray(value)) return value
    this.fail(at, `expected a list of ${what}, got ${describeValue(value)}`)
    return []
  }

  isMapping(value: unknown): value is Record<string, unknown> {
    return isMapping(value)
  }
}
