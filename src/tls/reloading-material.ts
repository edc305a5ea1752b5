import { EventEmitter } from 'node:events'
import { type FSWatcher, readFileSync, type StatsListener, unwatchFile, watch, watchFile } from 'node:fs'
import { dirname } from 'node:path'
import type { Logger } from 'pino'
import { TlsMaterialError } from './errors.js'
import { readTlsMaterial, sameBytes, type TlsFiles, type TlsMaterial, type TlsSettings } from './material.js'

export interface ReloadingTlsMaterialOptions {
  /** Config section the files come from, for messages: `listen.tls`, `upstream.tls`. */
  readonly section: string
  readonly files: TlsFiles
  readonly settings?: TlsSettings
  readonly log: Logger
  /** Quiet time after the last file event before re-reading (a rotation writes several files). Default 200. */
  readonly debounceMs?: number
  /** Also poll the files' stat at this interval, for file systems where fs.watch misses events; 0 = off. Default 5000. */
  readonly pollIntervalMs?: number
}

export type TlsReloadOutcome = 'unchanged' | 'reloaded' | 'rejected'

interface Events {
  reloaded: [TlsMaterial]
  rejected: [TlsMaterialError]
}

/**
 * Certificate, key and CA files that are watched and re-read when they change, so certificates rotate without a
 * restart: `current` is the material new connections get; connections already open keep theirs. New files that do
 * not pass the checks (material.ts) are rejected with one log line and the current material stays.
 *
 * As ConfigWatcher does for the config file, the files' directories are watched rather than the files: writers
 * that rename a new file over the old one, and Kubernetes Secret volumes (which swap a `..data` symlink), replace
 * the inode a file watch would hang on. Every event schedules a debounced re-read that does nothing when the
 * bytes are the same. A slow stat poll backs this up where directory events do not arrive.
 */
export class ReloadingTlsMaterial extends EventEmitter<Events> {
  private material: TlsMaterial
  private watchers: FSWatcher[] = []
  private polled: { file: string; listener: StatsListener }[] = []
  private debounce: NodeJS.Timeout | undefined
  private closed = false
  /** Bytes of the last rejected files: the same broken files are reported once, not on every event. */
  private rejectedSnapshot: Snapshot | undefined

  /** Loads the files now; throws TlsMaterialError when they cannot be used. */
  constructor(private readonly options: ReloadingTlsMaterialOptions) {
    super()
    const { material, problems } = readTlsMaterial(options.files, options.settings)
    if (material === undefined) throw new TlsMaterialError(options.section, problems)
    this.material = material
  }

  get current(): TlsMaterial {
    return this.material
  }

  start(): this {
    if (this.closed || this.watchers.length > 0 || this.polled.length > 0) return this
    const files = [this.options.files.cert, this.options.files.key, this.options.files.ca].filter(
      (f): f is string => f !== undefined,
    )
    for (const dir of new Set(files.map((f) => dirname(f)))) {
      try {
        const w = watch(dir, { persistent: false }, () => this.schedule())
        w.on('error', (err) => {
          this.options.log.warn(
            { err: err.message, dir, section: this.options.section },
            'TLS file watch stopped; certificate changes are found by polling only',
          )
          w.close()
        })
        this.watchers.push(w)
      } catch (err) {
        this.options.log.warn(
          { err: (err as Error).message, dir, section: this.options.section },
          'cannot watch the TLS files directory; certificate changes are found by polling only',
        )
      }
    }
    const interval = this.options.pollIntervalMs ?? 5000
    if (interval > 0) {
      for (const file of new Set(files)) {
        const listener: StatsListener = (cur, prev) => {
          if (cur.mtimeMs !== prev.mtimeMs || cur.ino !== prev.ino || cur.size !== prev.size) this.schedule()
        }
        watchFile(file, { interval, persistent: false }, listener)
        this.polled.push({ file, listener })
      }
    }
    return this
  }

  close(): void {
    if (this.closed) return
    this.closed = true
    for (const w of this.watchers) w.close()
    for (const { file, listener } of this.polled) unwatchFile(file, listener)
    this.watchers = []
    this.polled = []
    if (this.debounce !== undefined) clearTimeout(this.debounce)
  }

  /** Re-reads the files now. */
  check(): TlsReloadOutcome {
    const { files, section, log } = this.options
    const snapshot = this.snapshot()
    if (snapshot !== undefined && sameSnapshot(snapshot, this.material)) return 'unchanged'
    if (
      snapshot !== undefined &&
      this.rejectedSnapshot !== undefined &&
      sameSnapshot(snapshot, this.rejectedSnapshot)
    ) {
      return 'rejected'
    }
    const { material, problems } = readTlsMaterial(files, this.options.settings)
    if (material === undefined) {
      this.rejectedSnapshot = snapshot
      const err = new TlsMaterialError(section, problems)
      log.error(
        { code: err.code, section, problems: problems.map((p) => `${p.key}: ${p.message}`) },
        `${section}: new certificate files rejected, keeping the current ones: ${err.message}`,
      )
      this.emit('rejected', err)
      return 'rejected'
    }
    this.material = material
    this.rejectedSnapshot = undefined
    log.info(
      {
        section,
        subject: material.leaf?.subject,
        validTo: material.leaf?.validTo,
        fingerprint256: material.leaf?.fingerprint256,
        caCertificates: material.caCertificates,
      },
      `${section}: certificate files reloaded; new connections use them, open connections keep theirs`,
    )
    this.emit('reloaded', material)
    return 'reloaded'
  }

  /** The files' bytes now; undefined when one cannot be read (the check then reports it). */
  private snapshot(): Snapshot | undefined {
    const out: { cert?: Buffer; key?: Buffer; ca?: Buffer } = {}
    for (const k of ['cert', 'key', 'ca'] as const) {
      const path = this.options.files[k]
      if (path === undefined) continue
      try {
        out[k] = readFileSync(path)
      } catch {
        return undefined
      }
    }
    return out
  }

  private schedule(): void {
    if (this.closed) return
    if (this.debounce !== undefined) clearTimeout(this.debounce)
    this.debounce = setTimeout(() => {
      this.debounce = undefined
      if (!this.closed) this.check()
    }, this.options.debounceMs ?? 200)
    this.debounce.unref()
  }
}

type Snapshot = {
  readonly cert?: Buffer | undefined
  readonly key?: Buffer | undefined
  readonly ca?: Buffer | undefined
}

function sameSnapshot(a: Snapshot, b: Snapshot): boolean {
  return sameBytes(a.cert, b.cert) && sameBytes(a.key, b.key) && sameBytes(a.ca, b.ca)
}
