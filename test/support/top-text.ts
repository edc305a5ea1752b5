/** Reading `kafka-sidecar top`'s table (src/stats/top-table.ts renderTop) in tests. */

/** The ERRS cell of a client's row in top's table (right-aligned under its title). */
export function topErrors(lines: readonly string[], clientId: string): string {
  const header = lines.find((l) => /\bERRS\b/.test(l))
  const row = lines.find((l) => l.includes(clientId))
  if (header === undefined || row === undefined)
    throw new Error(`no ERRS column or no row for ${clientId}:\n${lines.join('\n')}`)
  const end = header.indexOf('ERRS') + 'ERRS'.length
  return row.slice(end - 6, end).trim()
}
