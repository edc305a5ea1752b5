/**
 * A closed range of message versions, as the spec files write them: "3+", "0-12", "7", "none".
 * (clients/src/main/resources/common/message/README.md, "Fields"; Kafka's generator Versions.java.)
 */
export class Versions {
  static readonly NONE = new Versions(1, 0)
  static readonly ALL = new Versions(0, 0x7fff)

  constructor(
    readonly min: number,
    readonly max: number,
  ) {}

  static parse(text: string | undefined, fallback: Versions = Versions.NONE): Versions {
    if (text === undefined) return fallback
    const t = text.trim()
    if (t === 'none') return Versions.NONE
    let m = /^(\d+)\+$/.exec(t)
    if (m) return new Versions(Number(m[1]), 0x7fff)
    m = /^(\d+)-(\d+)$/.exec(t)
    if (m) return new Versions(Number(m[1]), Number(m[2]))
    m = /^(\d+)$/.exec(t)
    if (m) return new Versions(Number(m[1]), Number(m[1]))
    throw new Error(`invalid version range ${JSON.stringify(text)}`)
  }

  get empty(): boolean {
    return this.min > this.max
  }

  contains(v: number): boolean {
    return v >= this.min && v <= this.max
  }

  intersect(o: Versions): Versions {
    const r = new Versions(Math.max(this.min, o.min), Math.min(this.max, o.max))
    return r.empty ? Versions.NONE : r
  }

  /** True when every version in `o` is in this range. */
  covers(o: Versions): boolean {
    return o.empty || (this.min <= o.min && this.max >= o.max)
  }

  /** This range minus `o`, which must not split it in two (Kafka's Versions.subtract has the same rule). */
  subtract(o: Versions): Versions {
    const i = this.intersect(o)
    if (i.empty) return this
    if (i.min <= this.min && i.max >= this.max) return Versions.NONE
    if (i.min <= this.min) return new Versions(i.max + 1, this.max)
    if (i.max >= this.max) return new Versions(this.min, i.min - 1)
    throw new Error(`subtracting ${o} from ${this} would leave two ranges`)
  }

  toString(): string {
    if (this.empty) return 'none'
    if (this.max === 0x7fff) return `${this.min}+`
    return this.min === this.max ? `${this.min}` : `${this.min}-${this.max}`
  }
}

/**
 * A TypeScript condition that is true exactly for the versions in `wanted`, given that the code only
 * ever runs for versions in `possible`; `true`/`false` when the answer does not depend on the version.
 */
export function versionCondition(wanted: Versions, possible: Versions, v = 'version'): string {
  const w = wanted.intersect(possible)
  if (w.empty) return 'false'
  const needMin = w.min > possible.min
  const needMax = w.max < possible.max
  if (!needMin && !needMax) return 'true'
  if (needMin && needMax) return w.min === w.max ? `${v} === ${w.min}` : `${v} >= ${w.min} && ${v} <= ${w.max}`
  return needMin ? `${v} >= ${w.min}` : `${v} <= ${w.max}`
}
