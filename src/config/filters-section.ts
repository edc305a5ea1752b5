/**
 * filters: the pipeline's filter entries, checked here only for their shape ({ name, config }); what names exist and
 * what their configs mean is the filters' business (FilterCheck, src/filter-registry.ts).
 */
import { describeValue, type Validator } from './validator.js'

export interface FilterEntry {
  readonly name: string
  readonly config?: Readonly<Record<string, unknown>>
}

/** A problem with the `filters` entry at `index`: its name, or its config. */
export interface FilterEntryIssue {
  readonly index: number
  readonly key: 'name' | 'config'
  readonly message: string
}

/**
 * Checks `filters` entries against the filters that exist (src/filter-registry.ts). The configuration module does not
 * know the filters; the commands pass this in, so that a file is checked the same way by every command.
 */
export type FilterCheck = (entries: readonly FilterEntry[]) => readonly FilterEntryIssue[]

export function filtersSection(v: Validator, value: unknown): readonly FilterEntry[] {
  const entries: FilterEntry[] = []
  v.list(value, ['filters'], 'filters ({ name, config })').forEach((item, i) => {
    const at = ['filters', i]
    if (!v.isMapping(item)) {
      v.fail(at, `expected a mapping { name, config }, got ${describeValue(item)}`)
      return
    }
    const m = v.mapping(item, at, ['name', 'config'])
    const name = v.string(m.name, [...at, 'name'], '', 'the filter name')
    if (m.name === undefined) v.fail([...at, 'name'], 'missing: every filter needs a name')
    if (m.config !== undefined && m.config !== null && !v.isMapping(m.config)) {
      v.fail([...at, 'config'], `expected a mapping of filter settings, got ${describeValue(m.config)}`)
      return
    }
    entries.push(v.isMapping(m.config) ? { name, config: m.config } : { name })
  })
  return entries
}
