import { EventEmitter } from 'node:events'
import { type FSWatcher, readFileSync, type StatsListener, unwatchFile, watch, watchFile } from 'node:fs'
import { dirname } from 'node:path'
import { ConfigError, ConfigFileUnreadableError, formatIssue } from './errors.js'
import { configFilePath, type LoadConfigInput, loadConfig, loadConfigFromText } from './load.js'
import { CONFIG_SECTIONS, type ConfigSection, type SidecarConfig } from './schema.js'

/** Sections whose listeners are bound at startup: a new value is reported, and applied only by a restart. */
export const RESTART_REQUIRED_SECTIONS: readonly ConfigSection[] = ['listen', 'brokers', 'admin']

export type ReloadTrigger = 'signal' | 'file' | 'manual'

export interface ConfigChange {
  /** The configuration now in force: the new one, except for restart-only sections, which keep their old value. */
  readonly config: SidecarConfig
  readonly previous: SidecarConfig
  /** Sections that changed and were applied. */
  readonly changed: readonly ConfigSection[]
  /** Sections that changed in the file but need a restart; not applied. */
  readonly requiresRestart: readonly ConfigSection[]
  readonly trigger: ReloadTrigger
}

export type ReloadOutcome =
  | { readonly status: 'applied'; readonly change: ConfigChange }
  | { readonly status: 'unchanged'; readonly requiresRestart: readonly ConfigSection[] }
  | { readonly status: 'rejected'; readonly error: ConfigError }

/** The logger methods the watcher uses (a pino logger fits). */
export interface ReloadLogger {
  info(obj: object, msg: string): void
  warn(obj: object, msg: string): void
  error(obj: object, msg: string): void
}

/** Where SIGHUP comes from; `process` by default, replaceable in tests. */
export interface SignalSource {
  on(signal: 'SIGHUP', listener: () => void): unknown
  off(signal: 'SIGHUP', listener: () => void): unknown
}

export interface ConfigWatcherOptions extends LoadConfigInput {
  logger: ReloadLogger
  /** The configuration loaded at startup from the same input; loaded here when absent (throws ConfigError). */
  initial?: SidecarConfig
  /** Quiet time after the last file event before reloading (editors write in several steps). Default 200. */
  debounceMs?: number
  /** Also poll the file's stat at this interval, for file systems where fs.watch misses events; 0 = off. Default 5000. */
  pollIntervalMs?: number
  /** Default: process. null: no signal handling. */
  signals?: SignalSource | null
}

interface ConfigWatcherEvents {
  change: [ConfigChange]
  rejected: [ConfigError]
}

/**
 * Reloads the configuration on SIGHUP and when the config file changes, and emits 'change' with the sections that
 * changed. A configuration that does not validate is logged (one line) and emitted as 'rejected'; the old one stays.
 *
 * File changes are found by watching the file's directory, not the file: editors that save by writing a new file and
 * renaming it over the old one, and Kubernetes ConfigMap volumes (which swap a `..data` symlink), replace the inode a
 * file watch would be attached to. Every event in the directory schedules a debounced re-read, and a reload happens
 * only when the file's content differs from the last one read. SIGHUP always reloads.
 */
export class ConfigWatcher extends EventEmitter<ConfigWatcherEvents> {
  readonly file: string | undefined
  private readonly options: ConfigWatcherOptions
  private config: SidecarConfig
  private lastText: string | undefined
  private dirWatcher: FSWatcher | undefined
  private pollListener: StatsListener | undefined
  private debounce: NodeJS.Timeout | undefined
  private readonly onSignal = (): void => {
    this.reload('signal')
  }
  private started = false
  private closed = false

  constructor(options: ConfigWatcherOptions) {
    super()
    this.options = options
    this.file = configFilePath(options)
    this.lastText = this.readText()
    this.config = options.initial ?? loadConfig(options)
  }

  /** The configuration in force. */
  get current(): SidecarConfig {
    return this.config
  }

  start(): this {
    if (this.started || this.closed) return this
    this.started = true
    const signals = this.options.signals === undefined ? process : this.options.signals
    signals?.on('SIGHUP', this.onSignal)
    if (this.file !== undefined) {
      const file = this.file
      try {
        this.dirWatcher = watch(dirname(file), { persistent: false }, () => this.schedule())
        this.dirWatcher.on('error', (err) => {
          this.options.logger.warn(
            { err, file },
            `config file watch stopped (${(err as NodeJS.ErrnoException).code ?? err.message}); send SIGHUP to reload`,
          )
          this.dirWatcher?.close()
          this.dirWatcher = undefined
        })
      } catch (err) {
        this.options.logger.warn({ err, file }, `cannot watch ${dirname(file)}; config reloads on SIGHUP only`)
      }
      const interval = this.options.pollIntervalMs ?? 5000
      if (interval > 0) {
        this.pollListener = (cur, prev) => {
          if (cur.mtimeMs !== prev.mtimeMs || cur.ino !== prev.ino || cur.size !== prev.size) this.schedule()
        }
        watchFile(file, { interval, persistent: false }, this.pollListener)
      }
    }
    return this
  }

  close(): void {
    if (this.closed) return
    this.closed = true
    const signals = this.options.signals === undefined ? process : this.options.signals
    signals?.off('SIGHUP', this.onSignal)
    this.dirWatcher?.close()
    this.dirWatcher = undefined
    if (this.pollListener !== undefined && this.file !== undefined) unwatchFile(this.file, this.pollListener)
    if (this.debounce !== undefined) clearTimeout(this.debounce)
  }

  /**
   * Re-reads file, environment and flags now. A 'file' trigger with the same file content as last time does nothing;
   * 'signal' and 'manual' always re-validate (files the config names, such as TLS material, may have changed).
   */
  reload(trigger: ReloadTrigger = 'manual'): ReloadOutcome {
    const { logger } = this.options
    let next: SidecarConfig
    try {
      const text = this.file === undefined ? undefined : this.readOrThrow(this.file)
      if (trigger === 'file' && text === this.lastText) return { status: 'unchanged', requiresRestart: [] }
      this.lastText = text
      next = loadConfigFromText(this.options, this.file, text)
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err
      logger.error(
        { code: err.code, issues: err.issues.map(formatIssue), trigger },
        `config reload rejected, keeping the running configuration: ${err.summary}`,
      )
      this.emit('rejected', err)
      return { status: 'rejected', error: err }
    }

    const previous = this.config
    const changed: ConfigSection[] = []
    const requiresRestart: ConfigSection[] = []
    const applied: Record<string, unknown> = {}
    for (const section of CONFIG_SECTIONS) {
      const differs = JSON.stringify(previous[section]) !== JSON.stringify(next[section])
      const restart = differs && RESTART_REQUIRED_SECTIONS.includes(section)
      if (restart) requiresRestart.push(section)
      else if (differs) changed.push(section)
      applied[section] = restart ? previous[section] : next[section]
    }
    if (requiresRestart.length > 0) {
      logger.warn(
        { requiresRestart, trigger },
        `config change to ${requiresRestart.join(', ')} requires a restart; not applied until then`,
      )
    }
    if (changed.length === 0) {
      logger.info({ trigger }, 'config reloaded: nothing to apply')
      return { status: 'unchanged', requiresRestart }
    }
    this.config = Object.freeze(applied) as unknown as SidecarConfig
    const change: ConfigChange = { config: this.config, previous, changed, requiresRestart, trigger }
    logger.info({ changed, trigger }, `config reloaded: ${changed.join(', ')} changed`)
    this.emit('change', change)
    return { status: 'applied', change }
  }

  private schedule(): void {
    if (this.closed) return
    if (this.debounce !== undefined) clearTimeout(this.debounce)
    this.debounce = setTimeout(() => {
      this.debounce = undefined
      if (!this.closed) this.reload('file')
    }, this.options.debounceMs ?? 200)
    this.debounce.unref()
  }

  private readText(): string | undefined {
    if (this.file === undefined) return undefined
    try {
      return readFileSync(this.file, 'utf8')
    } catch {
      return undefined
    }
  }

  private readOrThrow(file: string): string {
    try {
      return readFileSync(file, 'utf8')
    } catch (err) {
      throw new ConfigFileUnreadableError(file, err)
    }
  }
}
