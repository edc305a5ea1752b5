/**
 * Reading a Prometheus text exposition (what /metrics serves) in tests: no parser library, just the line format
 * `name{label="value",...} number`.
 */

/** Distinct (client_id, principal) label sets across every series. */
export function clientLabelSets(text: string): Set<string> {
  const sets = new Set<string>()
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue
    const id = /client_id="((?:[^"\\]|\\.)*)"/.exec(line)?.[1]
    if (id === undefined) continue
    sets.add(`${id}|${/principal="((?:[^"\\]|\\.)*)"/.exec(line)?.[1] ?? ''}`)
  }
  return sets
}

/** The value of the first series with this name whose labels include `labels`. */
export function metricValue(text: string, name: string, labels: Record<string, string>): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) return Number(line.split(' ').pop())
  }
  return undefined
}
