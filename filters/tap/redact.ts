/**
 * Redaction of JSON fields in tapped record values: each configured path (dot-separated keys; `*` any one key or
 * array element, `**` any depth, none included) names fields whose values become "[REDACTED]". A value that is not
 * JSON cannot be searched for those fields, so it is not copied at all (the caller says so in a header): a tap with
 * redaction must never let a sensitive value through because it was formatted differently.
 */

export const REDACTED = '[REDACTED]'

type Json = null | boolean | number | string | Json[] | { [k: string]: Json }

export type RedactOutcome =
  | { readonly kind: 'redacted'; readonly value: Buffer; readonly fields: number }
  | { readonly kind: 'not-json' }

export class Redactor {
  private readonly paths: readonly (readonly string[])[]

  constructor(paths: readonly string[]) {
    this.paths = paths.map((p) => p.split('.'))
  }

  get active(): boolean {
    return this.paths.length > 0
  }

  /** The value with the configured fields replaced, re-serialised; `not-json` when it does not parse. */
  redact(value: Buffer): RedactOutcome {
    let doc: Json
    try {
      doc = JSON.parse(value.toString('utf8')) as Json
    } catch {
      return { kind: 'not-json' }
    }
    let fields = 0
    for (const path of this.paths) fields += redactAt(doc, path, 0)
    // A document without any of the fields is re-serialised all the same: the copy is then plain JSON either way.
    return { kind: 'redacted', value: Buffer.from(JSON.stringify(doc), 'utf8'), fields }
  }
}

/** Replaces what `path[i..]` names under `node`; returns how many fields it replaced. */
function redactAt(node: Json, path: readonly string[], i: number): number {
  if (node === null || typeof node !== 'object') return 0
  const segment = path[i]!
  const last = i === path.length - 1
  if (segment === '**') {
    // Zero levels: the rest of the path from here; one or more: the same `**` from each child.
    let n = last ? 0 : redactAt(node, path, i + 1)
    for (const child of children(node)) n += redactAt(child.value, path, i)
    return n
  }
  let n = 0
  for (const child of children(node)) {
    if (segment !== '*' && child.key !== segment) continue
    if (last) {
      child.set(REDACTED)
      n++
    } else n += redactAt(child.value, path, i + 1)
  }
  return n
}

function children(node: Json[] | { [k: string]: Json }): { key: string; value: Json; set(v: Json): void }[] {
  if (Array.isArray(node)) {
    return node.map((value, index) => ({
      key: String(index),
      value,
      set: (v) => {
        node[index] = v
      },
    }))
  }
  return Object.keys(node).map((key) => ({
    key,
    value: node[key]!,
    set: (v) => {
      node[key] = v
    },
  }))
}
