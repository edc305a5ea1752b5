import type { ClientSnapshot, StatsSnapshot } from './snapshot.js'

/**
 * The table `kafka-sidecar top` shows: one row per client, rates over the interval between two /stats snapshots
 * (totals when there is only one), sorted by bytes, requests or lag. Pure: text lines in, no terminal codes.
 */

export const SORT_KEYS = ['bytes', 'requests', 'lag'] as const
export type SortKey = (typeof SORT_KEYS)[number]

export interface TopOptions {
  readonly sort: SortKey
  /** Terminal size; rows beyond `height` are cut (with a "+N more" line). */
  readonly width: number
  readonly height: number
  /** Where the numbers come from, for the header. */
  readonly source: string
  /** Key help in the header (interactive only). */
  readonly keys?: boolean
}

interface Row {
  readonly client: ClientSnapshot
  readonly requestsRate: number | null
  readonly bytesRate: number | null
  readonly inRate: number | null
  readonly outRate: number | null
  readonly produceRate: number | null
  readonly fetchRate: number | null
  /** Milliseconds per second the sidecar's rate limits held the client back. */
  readonly throttledRate: number | null
}

const rowKey = (c: ClientSnapshot) => `${c.clientId}\u0000${c.principal ?? ''}`

function sumRecords(flows: ClientSnapshot['produce']): number {
  let n = 0
  for (const f of Object.values(flows)) n += f.records
  return n
}

/** Per-second change between two snapshots; null without a previous one (or a counter reset). */
function rate(now: number, before: number | undefined, seconds: number): number | null {
  if (before === undefined || seconds <= 0 || now < before) return null
  return (now - before) / seconds
}

export function buildRows(current: StatsSnapshot, previous: StatsSnapshot | undefined): Row[] {
  const seconds = previous === undefined ? 0 : (Date.parse(current.time) - Date.parse(previous.time)) / 1000
  const before = new Map(previous?.clients.map((c) => [rowKey(c), c]))
  return current.clients.map((c) => {
    const p = before.get(rowKey(c))
    const inRate = rate(c.bytesIn, p?.bytesIn, seconds)
    const outRate = rate(c.bytesOut, p?.bytesOut, seconds)
    return {
      client: c,
      requestsRate: rate(c.requests, p?.requests, seconds),
      bytesRate: inRate === null || outRate === null ? null : inRate + outRate,
      inRate,
      outRate,
      produceRate: rate(sumRecords(c.produce), p ? sumRecords(p.produce) : undefined, seconds),
      fetchRate: rate(sumRecords(c.fetch), p ? sumRecords(p.fetch) : undefined, seconds),
      throttledRate: rate(c.sidecarThrottleMs ?? 0, p === undefined ? undefined : (p.sidecarThrottleMs ?? 0), seconds),
    }
  })
}

/** Rate first (what is busy now), then the total (what was busy), then the name: a stable order when idle. */
export function sortRows(rows: Row[], key: SortKey): Row[] {
  const primary = (r: Row): number => {
    if (key === 'lag') return r.client.lag ?? -1
    if (key === 'requests') return r.requestsRate ?? -1
    return r.bytesRate ?? -1
  }
  const secondary = (r: Row): number =>
    key === 'lag' ? 0 : key === 'requests' ? r.client.requests : r.client.bytesIn + r.client.bytesOut
  return [...rows].sort(
    (a, b) =>
      primary(b) - primary(a) ||
      secondary(b) - secondary(a) ||
      (a.client.clientId < b.client.clientId ? -1 : a.client.clientId > b.client.clientId ? 1 : 0),
  )
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${Math.round(n)}B`
  const units = ['K', 'M', 'G', 'T']
  let v = n
  let u = -1
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024
    u++
  }
  return `${v < 10 ? v.toFixed(1) : Math.round(v)}${units[u]}`
}

export function formatCount(n: number): string {
  if (n < 10_000) return Number.isInteger(n) ? String(n) : n < 10 ? n.toFixed(1) : String(Math.round(n))
  if (n < 10_000_000) return `${Math.round(n / 1000)}k`
  return `${Math.round(n / 1_000_000)}M`
}

function duration(seconds: number): string {
  const h = Math.floor(seconds / 3600)
  const m = Math.floor((seconds % 3600) / 60)
  const s = seconds % 60
  return h > 0 ? `${h}h${String(m).padStart(2, '0')}m` : m > 0 ? `${m}m${String(s).padStart(2, '0')}s` : `${s}s`
}

interface Column {
  readonly title: string
  readonly width: number
  readonly align: 'left' | 'right'
  readonly value: (r: Row) => string
}

const orTotal = (r: number | null, total: number, fmt: (n: number) => string) => (r === null ? fmt(total) : fmt(r))

export function renderTop(current: StatsSnapshot, previous: StatsSnapshot | undefined, options: TopOptions): string[] {
  const rates = previous !== undefined
  const rows = sortRows(buildRows(current, previous), options.sort)
  const p = current.process
  const card = current.cardinality
  const lines: string[] = []
  lines.push(
    `kafka-sidecar top - ${options.source}  up ${duration(current.uptimeSeconds)}  connections ${p.connectionsOpen}` +
      `  rss ${formatBytes(p.rssBytes)}  loop p99 ${p.eventLoopLagMs.p99.toFixed(1)}ms` +
      `  decode failures ${p.decodeFailures}`,
  )
  lines.push(
    `clients ${card.clientIds}/${card.maxClientIds}${card.clientIdsFolded > 0 ? ` (+${card.clientIdsFolded} folded into "other")` : ''}` +
      `  groups ${current.groups.length}  ${rates ? 'rates per second' : 'totals'}  sort: ${options.sort}` +
      (options.keys ? '   keys: [b]ytes [r]equests [l]ag [q]uit' : ''),
  )
  lines.push('')
  const columns: Column[] = [
    { title: 'CONN', width: 5, align: 'right', value: (r) => String(r.client.connections.open) },
    {
      title: rates ? 'REQ/S' : 'REQS',
      width: 7,
      align: 'right',
      value: (r) => orTotal(r.requestsRate, r.client.requests, formatCount),
    },
    { title: 'ERRS', width: 6, align: 'right', value: (r) => formatCount(r.client.errors) },
    {
      title: rates ? 'IN/S' : 'IN',
      width: 7,
      align: 'right',
      value: (r) => orTotal(r.inRate, r.client.bytesIn, formatBytes),
    },
    {
      title: rates ? 'OUT/S' : 'OUT',
      width: 7,
      align: 'right',
      value: (r) => orTotal(r.outRate, r.client.bytesOut, formatBytes),
    },
    {
      title: rates ? 'PROD/S' : 'PRODUCED',
      width: 9,
      align: 'right',
      value: (r) => orTotal(r.produceRate, sumRecords(r.client.produce), formatCount),
    },
    {
      title: rates ? 'FETCH/S' : 'FETCHED',
      width: 9,
      align: 'right',
      value: (r) => orTotal(r.fetchRate, sumRecords(r.client.fetch), formatCount),
    },
    { title: 'LAG', width: 8, align: 'right', value: (r) => (r.client.lag === null ? '-' : formatCount(r.client.lag)) },
    { title: 'THROTTLE', width: 9, align: 'right', value: (r) => `${formatCount(r.client.throttleMs)}ms` },
    {
      // The sidecar's own rate limits (rate-limit filter), apart from the broker's throttle in THROTTLE.
      title: 'THROTTLED',
      width: 9,
      align: 'right',
      value: (r) =>
        r.throttledRate === null
          ? `${formatCount(r.client.sidecarThrottleMs ?? 0)}ms`
          : `${formatCount(Math.round(r.throttledRate))}ms/s`,
    },
    {
      title: 'SOFTWARE',
      width: 26,
      align: 'left',
      value: (r) => (r.client.software ? `${r.client.software.name}/${r.client.software.version}` : '-'),
    },
    { title: 'GROUPS', width: 16, align: 'left', value: (r) => r.client.groups.join(',') || '-' },
  ]
  const showPrincipal = current.clients.some((c) => c.principal !== null)
  const fixed = columns.reduce((n, c) => n + c.width + 1, 0)
  const principalWidth = showPrincipal ? 16 : 0
  const idWidth = Math.max(12, Math.min(40, options.width - fixed - principalWidth - (showPrincipal ? 1 : 0)))
  const cells = (id: string, principal: string, values: string[]) =>
    [
      fitCell(id, idWidth, 'left'),
      ...(showPrincipal ? [fitCell(principal, principalWidth, 'left')] : []),
      ...columns.map((c, i) => fitCell(values[i]!, c.width, c.align)),
    ]
      .join(' ')
      .trimEnd()
  lines.push(
    cells(
      'CLIENT ID',
      'PRINCIPAL',
      columns.map((c) => c.title),
    ),
  )
  const room = Math.max(1, options.height - lines.length - 1)
  const shown = rows.length > room ? rows.slice(0, room - 1) : rows
  for (const r of shown) {
    const id = r.client.folded ? '(other)' : r.client.clientId === '' ? '(none)' : r.client.clientId
    lines.push(
      cells(
        id,
        r.client.principal ?? '-',
        columns.map((c) => c.value(r)),
      ),
    )
  }
  if (shown.length < rows.length) lines.push(`... ${rows.length - shown.length} more`)
  if (rows.length === 0) lines.push('(no clients yet)')
  return lines.map((l) => (l.length > options.width ? l.slice(0, options.width) : l))
}

function fitCell(text: string, width: number, align: 'left' | 'right'): string {
  const t = text.length > width ? `${text.slice(0, width - 1)}~` : text
  return align === 'left' ? t.padEnd(width) : t.padStart(width)
}
