import { createRequire } from 'node:module'
import { pino } from 'pino'
import type { LogConfig, LogFormat, LogLevel } from './config/log-section.js'

/**
 * Logging: pino, one JSON object per line on stdout, or (log.format pretty) one readable line per entry for a
 * terminal, made from the same JSON by pino-pretty in the process, synchronously, so that no line is lost when the
 * process exits; the format can change at runtime like the level.
 *
 * Level and the frame switch are set on the root logger and reach every child logger, including per-connection
 * loggers created before the change: pino children created without their own `level` read it from their parent
 * through the prototype chain (test/logger.test.ts pins this down), and the frame switch is one object shared the
 * same way. So a config reload only has to call applyLogConfig(root, config.log).
 */

export type Logger = pino.Logger

export interface LoggerOptions {
  level?: LogLevel
  frames?: boolean
  /** Default json. */
  format?: LogFormat
  /** Default: stdout. Tests pass a stream that collects lines. */
  destination?: pino.DestinationStream
  /** Bindings on every line (component, pod, ...). */
  base?: Record<string, unknown>
}

const FRAMES = Symbol('kafka-sidecar.frames')

interface FrameSwitch {
  on: boolean
  /** Per logger, a child at level debug for frame lines (whatever the logger's own level). */
  readonly debugChildren: WeakMap<Logger, Logger>
}

type WithFrames = Logger & { [FRAMES]?: FrameSwitch; [OUTPUT]?: LogOutput }

const OUTPUT = Symbol('kafka-sidecar.log-output')

/** pino's destination: the JSON lines as they are, or made readable; the format switches at runtime. */
class LogOutput {
  private prettify: ((line: string) => string) | undefined

  constructor(
    private readonly target: pino.DestinationStream,
    public format: LogFormat,
    /** ANSI colours: only on a terminal. */
    private readonly colors: boolean,
  ) {}

  write(line: string): void {
    if (this.format === 'json') {
      this.target.write(line)
      return
    }
    // Loaded on the first pretty line only: a sidecar logging JSON (the default for `run`) never pays its ~2.5 MB.
    this.prettify ??= (nodeRequire('pino-pretty') as typeof import('pino-pretty')).prettyFactory({
      colorize: this.colors,
      // One line per entry: the fields follow the message as compact JSON.
      singleLine: true,
      translateTime: 'SYS:HH:MM:ss.l',
      ignore: 'pid,hostname',
    })
    this.target.write(this.prettify(line))
  }
}

const nodeRequire = createRequire(import.meta.url)

export function createLogger(options: LoggerOptions = {}): Logger {
  const destination = options.destination ?? pino.destination({ dest: 1, sync: true })
  const output = new LogOutput(
    destination,
    options.format ?? 'json',
    options.destination === undefined && process.stdout.isTTY === true,
  )
  const logger = pino(
    {
      level: options.level ?? 'info',
      base: { pid: process.pid, ...options.base },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      serializers: { err: pino.stdSerializers.err },
      hooks: { logMethod: uniqueFieldsLogMethod },
      onChild: uniqueChildBindings,
    },
    output,
  ) as WithFrames
  logger[FRAMES] = { on: options.frames ?? false, debugChildren: new WeakMap() }
  logger[OUTPUT] = output
  return logger
}

/*
 * One field name once per line. pino writes a line as its own fields (level, time), then the bindings of the logger
 * and its parents as one pre-serialized string, then the call's fields, then msg, and repeats a name that appears in
 * two of these: `log.child({ clientId }).info({ clientId }, ...)` gives `"clientId":"a",...,"clientId":"a"`. JSON
 * allows that, but strict readers (and log pipelines built on them) reject the line. So loggers made here merge
 * instead: a child's binding replaces the parent's of the same name, a call's field replaces a binding (the value
 * lenient readers took, the last), and a call field named like one pino writes itself keeps its value as `<name>_`.
 */

const CHINDINGS = pino.symbols.chindingsSym
/** Fields pino writes on every line itself (the level label under `level`, `time`, the message under `msg`). */
const OWN_FIELDS = new Set(['level', 'time', 'msg'])

type WithBindings = Logger & { [CHINDINGS]: string }

/** The names a logger's bindings hold, cached per logger for as long as its bindings string stays the same. */
const boundNames = new WeakMap<object, { readonly chindings: string; readonly names: ReadonlySet<string> }>()

function bindingsOf(chindings: string): Record<string, unknown> {
  // The bindings string is `,"name":value,...`, each value already serialized by pino.
  return chindings === '' ? {} : (JSON.parse(`{${chindings.slice(1)}}`) as Record<string, unknown>)
}

function namesBound(logger: WithBindings): ReadonlySet<string> {
  const chindings = logger[CHINDINGS] ?? ''
  const cached = boundNames.get(logger)
  if (cached !== undefined && cached.chindings === chindings) return cached.names
  const names = new Set(Object.keys(bindingsOf(chindings)))
  boundNames.set(logger, { chindings, names })
  return names
}

function withoutNames(chindings: string, drop: ReadonlySet<string>): string {
  let out = ''
  for (const [name, value] of Object.entries(bindingsOf(chindings))) {
    if (!drop.has(name)) out += `,${JSON.stringify(name)}:${JSON.stringify(value)}`
  }
  return out
}

/** A child's bindings that repeat a parent's name replace it (pino would keep both in the bindings string). */
function uniqueChildBindings(child: Logger): void {
  const c = child as WithBindings
  const parent = Object.getPrototypeOf(child) as WithBindings
  const inherited = parent[CHINDINGS] ?? ''
  const own = c[CHINDINGS] ?? ''
  if (!own.startsWith(inherited) || own.length === inherited.length) return
  const parentNames = namesBound(parent)
  if (parentNames.size === 0) return
  const added = own.slice(inherited.length)
  const repeated = new Set(Object.keys(bindingsOf(added)).filter((n) => parentNames.has(n)))
  if (repeated.size > 0) c[CHINDINGS] = withoutNames(inherited, repeated) + added
}

/** pino's logMethod hook: a call's fields never repeat a bound name or one pino writes itself. */
function uniqueFieldsLogMethod(this: Logger, args: Parameters<pino.LogFn>, method: pino.LogFn): void {
  const fields = args[0] as unknown
  if (typeof fields !== 'object' || fields === null || fields instanceof Error || Array.isArray(fields)) {
    method.apply(this, args)
    return
  }
  const logger = this as WithBindings
  const bound = namesBound(logger)
  let copy: Record<string, unknown> | undefined
  let replaced: Set<string> | undefined
  for (const name of Object.keys(fields)) {
    if (OWN_FIELDS.has(name)) {
      copy ??= { ...(fields as Record<string, unknown>) }
      copy[`${name}_`] = copy[name]
      delete copy[name]
    } else if (bound.has(name)) {
      replaced ??= new Set()
      replaced.add(name)
    }
  }
  if (copy !== undefined) args[0] = copy
  if (replaced === undefined) {
    method.apply(this, args)
    return
  }
  // The call's value wins: this line is written with the logger's bindings minus those names.
  const saved = logger[CHINDINGS]
  logger[CHINDINGS] = withoutNames(saved, replaced)
  try {
    method.apply(this, args)
  } finally {
    logger[CHINDINGS] = saved
  }
}

/** Sets level, frame logging and format on `root` and all its children; what a config reload calls. */
export function applyLogConfig(root: Logger, log: Pick<LogConfig, 'level' | 'frames'> & Partial<LogConfig>): void {
  root.level = log.level
  setFrameLogging(root, log.frames)
  if (log.format !== undefined) setLogFormat(root, log.format)
}

/** json or pretty, for every line written from now on (loggers not made by createLogger stay as they are). */
export function setLogFormat(logger: Logger, format: LogFormat): void {
  const output = (logger as WithFrames)[OUTPUT]
  if (output !== undefined) output.format = format
}

export function logFormat(logger: Logger): LogFormat | undefined {
  return (logger as WithFrames)[OUTPUT]?.format
}

export function setFrameLogging(logger: Logger, on: boolean): void {
  const sw = (logger as WithFrames)[FRAMES]
  if (sw !== undefined) sw.on = on
}

export function frameLoggingEnabled(logger: Logger): boolean {
  return (logger as WithFrames)[FRAMES]?.on === true
}

/**
 * Logs one frame-level line at debug, when frame logging is on, whatever the logger's level: turning `log.frames`
 * on is enough to see frames, without the rest of the debug output. Costs one property read when off.
 */
export function logFrame(logger: Logger, fields: Record<string, unknown>, msg: string): void {
  const sw = (logger as WithFrames)[FRAMES]
  if (sw === undefined || !sw.on) return
  let child = sw.debugChildren.get(logger)
  if (child === undefined) {
    child = logger.child({}, { level: 'debug' })
    sw.debugChildren.set(logger, child)
  }
  child.debug({ frame: true, ...fields }, msg)
}

export interface ConnectionLogContext {
  /** The sidecar's own id for the client connection. */
  connectionId: number | string
  /** `host:port` of the client. */
  remote?: string
  /** The bootstrap or per-broker listener it came in on. */
  listener?: string
  principal?: string
}

/** A child logger whose every line carries the connection's context (`conn`, `remote`, ...). */
export function connectionLogger(parent: Logger, ctx: ConnectionLogContext): Logger {
  const bindings: Record<string, unknown> = { conn: ctx.connectionId }
  if (ctx.remote !== undefined) bindings.remote = ctx.remote
  if (ctx.listener !== undefined) bindings.listener = ctx.listener
  if (ctx.principal !== undefined) bindings.principal = ctx.principal
  return parent.child(bindings)
}

/** One cause of repeated errors and how often it has occurred. */
export interface CauseCount {
  readonly code: string
  readonly key: string
  /** Every occurrence, the first included. */
  readonly count: number
  readonly firstAt: number
  readonly lastAt: number
}

interface CauseState {
  code: string
  key: string
  count: number
  firstAt: number
  lastAt: number
  /** Occurrences not logged yet, and since when. */
  pending: number
  pendingSince: number
  logger: Logger
}

export interface CauseTrackerOptions {
  /** Shortest time between two summary lines for one cause. Default 60 000. */
  summaryIntervalMs?: number
  /** Causes tracked separately; later ones share the key "other" (bounded memory and metric labels). Default 1000. */
  maxCauses?: number
  now?: () => number
}

/**
 * Logs the first occurrence of each error cause (its code plus a caller-chosen key such as a client id or remote
 * address) and counts the rest; a summary line "N more of <code> since <time>" follows at most once per interval
 * per cause, while occurrences keep coming. Counts are kept for metrics.
 */
export class CauseTracker {
  private readonly causes = new Map<string, CauseState>()
  private readonly intervalMs: number
  private readonly maxCauses: number
  private readonly now: () => number
  private timer: NodeJS.Timeout | undefined

  constructor(options: CauseTrackerOptions = {}) {
    this.intervalMs = options.summaryIntervalMs ?? 60_000
    this.maxCauses = options.maxCauses ?? 1000
    this.now = options.now ?? Date.now
  }

  /** Returns true when this call logged the error (first occurrence of its cause). */
  record(logger: Logger, key: string, err: unknown, level: 'warn' | 'error' = 'warn'): boolean {
    const code = errorCode(err)
    let id = `${code}\u0000${key}`
    let state = this.causes.get(id)
    if (state === undefined && this.causes.size >= this.maxCauses) {
      key = 'other'
      id = `${code}\u0000other`
      state = this.causes.get(id)
    }
    const now = this.now()
    if (state === undefined) {
      this.causes.set(id, { code, key, count: 1, firstAt: now, lastAt: now, pending: 0, pendingSince: now, logger })
      logger[level](
        { err, cause: key, code },
        `${code} (${key}): ${errorMessage(err)}; repeats are counted, not logged`,
      )
      return true
    }
    state.count++
    state.lastAt = now
    if (state.pending === 0) state.pendingSince = now
    state.pending++
    state.logger = logger
    this.arm()
    return false
  }

  /** Logs a summary line for every cause with unlogged occurrences whose interval has passed. */
  flush(force = false): void {
    const now = this.now()
    let waiting = false
    for (const s of this.causes.values()) {
      if (s.pending === 0) continue
      if (!force && now - s.pendingSince < this.intervalMs) {
        waiting = true
        continue
      }
      s.logger.warn(
        { code: s.code, cause: s.key, count: s.pending, total: s.count },
        `${s.pending} more of ${s.code} (${s.key}) since ${new Date(s.pendingSince).toISOString()}`,
      )
      s.pending = 0
    }
    if (!waiting && this.timer !== undefined) {
      clearInterval(this.timer)
      this.timer = undefined
    }
  }

  /** Every cause seen, for metrics (e.g. kafka_sidecar_errors_total{code, cause}). */
  counts(): CauseCount[] {
    return [...this.causes.values()].map(({ code, key, count, firstAt, lastAt }) => ({
      code,
      key,
      count,
      firstAt,
      lastAt,
    }))
  }

  /** Stops the summary timer after logging what is pending. */
  close(): void {
    this.flush(true)
    if (this.timer !== undefined) clearInterval(this.timer)
    this.timer = undefined
  }

  private arm(): void {
    if (this.timer !== undefined) return
    this.timer = setInterval(() => this.flush(), Math.min(this.intervalMs, 10_000))
    this.timer.unref()
  }
}

/** The process-wide tracker used by logOncePerCause. */
export const defaultCauseTracker = new CauseTracker()

/**
 * Logs `err` the first time its cause (`code` + `key`) occurs, at warn (or error), and only counts it afterwards.
 * Returns true when it logged.
 */
export function logOncePerCause(
  logger: Logger,
  key: string,
  err: unknown,
  options: { level?: 'warn' | 'error'; tracker?: CauseTracker } = {},
): boolean {
  return (options.tracker ?? defaultCauseTracker).record(logger, key, err, options.level ?? 'warn')
}

function errorCode(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code
  if (typeof code === 'string' && code !== '') return code
  if (err instanceof Error) return err.name
  return 'UNKNOWN'
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}
