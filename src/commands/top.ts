import type { Argv } from 'yargs'
import { formatHostPort, parseHostPort } from '../config/host-port.js'
import { DEFAULTS } from '../config/schema.js'
import { SidecarError } from '../errors.js'
import type { StatsSnapshot } from '../stats/snapshot.js'
import { renderTop, SORT_KEYS, type SortKey } from '../stats/top-table.js'
import type { CliCommand } from './command.js'
import { UsageError } from './errors.js'
import { USAGE_EXIT, usageLine } from './usage.js'

/**
 * `kafka-sidecar top`: a live table of the clients of a running sidecar, read from its admin endpoint's /stats,
 * like top(1) for Kafka clients. Keys: b, r, l sort by bytes, requests, lag; q (or Ctrl-C) quits. Plain ANSI
 * escapes, no TUI library. When stdout is not a terminal (or with --once) it prints one table and exits.
 */

export class StatsUnreachableError extends SidecarError {
  constructor(url: string, cause: unknown) {
    super(
      'KSC_ERR_TOP_UNREACHABLE',
      `cannot read ${url}: ${(cause as Error)?.message ?? cause}; is the sidecar running with its admin endpoint there (--admin host:port)?`,
      { cause },
    )
  }
}

/** Faster refreshes only add load on the sidecar's admin endpoint; the figures are per-second rates. */
export const MIN_INTERVAL_MS = 100

export interface TopArgs {
  admin: string
  sort: SortKey
  intervalMs: number
  once: boolean
}

export async function fetchStats(url: string, timeoutMs = 3000): Promise<StatsSnapshot> {
  let res: Response
  try {
    res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) })
  } catch (err) {
    throw new StatsUnreachableError(url, (err as Error & { cause?: Error }).cause ?? err)
  }
  if (!res.ok) throw new StatsUnreachableError(url, new Error(`HTTP ${res.status}`))
  return (await res.json()) as StatsSnapshot
}

function statsUrl(admin: string): string {
  const hp = parseHostPort(admin)
  if ('error' in hp) throw new UsageError(`--admin ${JSON.stringify(admin)} is not host:port (${hp.error})`)
  return `http://${formatHostPort(hp)}/stats`
}

const ESC = '\x1b['
const ALT_SCREEN_ON = `${ESC}?1049h`
const ALT_SCREEN_OFF = `${ESC}?1049l`
const HIDE_CURSOR = `${ESC}?25l`
const SHOW_CURSOR = `${ESC}?25h`
const HOME = `${ESC}H`
const CLEAR_LINE = `${ESC}K`
const CLEAR_BELOW = `${ESC}J`
const BOLD = `${ESC}1m`
const INVERSE = `${ESC}7m`
const RESET = `${ESC}0m`

/** One table, no escapes: for pipes, files and --once. Resolves with the exit code. */
export async function printOnce(
  args: TopArgs,
  out: NodeJS.WritableStream,
  err: NodeJS.WritableStream,
): Promise<number> {
  const url = statsUrl(args.admin)
  try {
    const snapshot = await fetchStats(url)
    const lines = renderTop(snapshot, undefined, {
      sort: args.sort,
      width: (out as NodeJS.WriteStream).columns || 160,
      height: 100_000,
      source: url,
    })
    out.write(`${lines.join('\n')}\n`)
    return 0
  } catch (e) {
    if (!(e instanceof SidecarError)) throw e
    err.write(`error ${e.code}: ${e.message}\n`)
    return 1
  }
}

/** The live view on a terminal. Resolves when the user quits. */
export function runInteractive(args: TopArgs, stdin: NodeJS.ReadStream, stdout: NodeJS.WriteStream): Promise<void> {
  const url = statsUrl(args.admin)
  let sort = args.sort
  let current: StatsSnapshot | undefined
  let previous: StatsSnapshot | undefined
  let problem: string | undefined
  let timer: NodeJS.Timeout | undefined
  let polling = false

  const draw = () => {
    const width = stdout.columns || 120
    const height = stdout.rows || 40
    let lines: string[]
    if (current === undefined) {
      lines = [`kafka-sidecar top - ${url}`, '', problem ?? 'waiting for the first statistics...']
    } else {
      lines = renderTop(current, previous, { sort, width, height: height - 1, source: url, keys: true })
      if (problem !== undefined) lines.push(`${problem} (showing the last figures)`)
    }
    const styled = lines.map((l, i) => (i === 0 ? `${BOLD}${l}${RESET}` : i === 3 ? `${INVERSE}${l}${RESET}` : l))
    stdout.write(`${HOME}${styled.map((l) => `${l}${CLEAR_LINE}`).join('\r\n')}\r\n${CLEAR_BELOW}`)
  }

  const poll = async () => {
    if (polling) return
    polling = true
    try {
      const next = await fetchStats(url)
      previous = current
      current = next
      problem = undefined
    } catch (err) {
      problem = (err as Error).message
    } finally {
      polling = false
    }
    draw()
  }

  return new Promise((resolve) => {
    const onKey = (chunk: Buffer) => {
      for (const key of chunk.toString('utf8')) {
        if (key === 'q' || key === 'Q' || key === '\x03') {
          quit()
          return
        }
        const chosen = key === 'b' ? 'bytes' : key === 'r' ? 'requests' : key === 'l' ? 'lag' : undefined
        if (chosen !== undefined) {
          sort = chosen
          draw()
        }
      }
    }
    const onResize = () => draw()
    const quit = () => {
      clearInterval(timer)
      stdin.off('data', onKey)
      stdout.off('resize', onResize)
      if (stdin.isTTY) stdin.setRawMode(false)
      stdin.pause()
      stdout.write(`${SHOW_CURSOR}${ALT_SCREEN_OFF}`)
      resolve()
    }
    if (stdin.isTTY) stdin.setRawMode(true)
    stdin.on('data', onKey)
    stdin.resume()
    stdout.on('resize', onResize)
    stdout.write(`${ALT_SCREEN_ON}${HIDE_CURSOR}`)
    draw()
    void poll()
    timer = setInterval(() => void poll(), args.intervalMs)
  })
}

export const topCommand: CliCommand = {
  command: 'top',
  describe: 'Live per-client view of a running sidecar (reads its admin /stats)',
  builder: (y: Argv) =>
    y
      .options({
        admin: {
          type: 'string',
          default: process.env.KAFKA_SIDECAR_ADMIN ?? formatHostPort(DEFAULTS.admin),
          describe: 'admin endpoint of the sidecar [env KAFKA_SIDECAR_ADMIN]',
          requiresArg: true,
        },
        sort: {
          choices: SORT_KEYS,
          default: 'bytes' as SortKey,
          describe: 'initial sort (keys b, r, l change it)',
          requiresArg: true,
        },
        interval: {
          type: 'number',
          default: 1000,
          describe: `refresh interval in milliseconds (at least ${MIN_INTERVAL_MS})`,
          requiresArg: true,
        },
        once: { type: 'boolean', default: false, describe: 'print one table and exit (default when not a terminal)' },
      })
      .check((argv) => {
        const interval = argv.interval as number
        if (!Number.isInteger(interval))
          return `--interval ${interval} is not whole milliseconds: --interval MILLISECONDS`
        return interval >= MIN_INTERVAL_MS
          ? true
          : `--interval ${interval} is too short: at least --interval ${MIN_INTERVAL_MS} (milliseconds)`
      })
      .example('$0 top', 'watch the sidecar on 127.0.0.1:9644')
      .example('$0 top --admin 127.0.0.1:9700 --sort lag', 'another admin port, most lag first')
      .example('$0 top --once > clients.txt', 'one table, no terminal codes')
      .epilogue('Keys: b sort by bytes/s, r by requests/s, l by consumer lag, q quits.'),
  handler: async (argv: Record<string, unknown>) => {
    const args: TopArgs = {
      admin: String(argv.admin),
      sort: argv.sort as SortKey,
      intervalMs: argv.interval as number,
      once: Boolean(argv.once),
    }
    try {
      if (args.once || !process.stdout.isTTY) {
        process.exitCode = await printOnce(args, process.stdout, process.stderr)
        return
      }
      await runInteractive(args, process.stdin, process.stdout)
      process.exit(0)
    } catch (err) {
      if (!(err instanceof SidecarError)) throw err
      if (err instanceof UsageError) {
        process.stderr.write(usageLine(err.message, 'top'))
        process.exitCode = USAGE_EXIT
        return
      }
      process.stderr.write(`error ${err.code}: ${err.message}\n`)
      process.exitCode = 1
    }
  },
}
