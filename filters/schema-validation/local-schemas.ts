import { type FSWatcher, readFileSync, unwatchFile, watch, watchFile } from 'node:fs'
import { basename, dirname, resolve } from 'node:path'
import type { Logger } from 'pino'
import type { PartRule, SchemaFormat } from './config.js'
import { type CompiledSchema, compileSchema } from './validators/index.js'

/** A schema file as a rule names it; `path` is as written in the config (relative to the config file's directory). */
export interface LocalSchemaSpec {
  readonly path: string
  readonly format: SchemaFormat
  readonly message?: string
}

export class SchemaFileError extends Error {
  readonly code = 'KSC_ERR_SCHEMA_VALIDATION_FILE'
}

interface Loaded {
  readonly spec: LocalSchemaSpec
  readonly file: string
  compiled: CompiledSchema
  text: string
  readonly label: string
}

/** How often the files are stat'ed besides the directory watch (editors that replace files, Kubernetes symlink swaps). */
const POLL_MS = 2000
const DEBOUNCE_MS = 100

/**
 * Schemas from local files, compiled once and recompiled when a file changes: its directory is watched (fs.watch) and
 * the file polled (fs.watchFile) as a fallback. A file that no longer reads or compiles is logged and its last good
 * schema stays in use; a file that is broken at start fails the configuration (the sidecar does not start, a hot
 * reload is refused).
 */
export class LocalSchemas {
  private readonly byKey = new Map<string, Loaded>()
  private readonly byPart = new Map<PartRule, Loaded>()
  private readonly watchers: FSWatcher[] = []
  private readonly polled = new Set<string>()
  private readonly timers = new Map<string, NodeJS.Timeout>()
  private closed = false

  /** `parts`: the rules' key and value parts whose source is a file; a file two parts name is read once. */
  constructor(
    parts: readonly PartRule[],
    configDir: string,
    private readonly log: Logger,
  ) {
    for (const part of parts) {
      if (part.source.kind !== 'file') continue
      const spec: LocalSchemaSpec = { path: part.source.path, format: part.format!, message: part.source.message }
      const key = `${spec.format}\u0000${spec.message ?? ''}\u0000${spec.path}`
      let loaded = this.byKey.get(key)
      if (loaded === undefined) {
        const file = resolve(configDir, spec.path)
        const text = read(file, spec.path)
        loaded = { spec, file, text, compiled: compile(spec, text, file), label: `file ${basename(spec.path)}` }
        this.byKey.set(key, loaded)
      }
      this.byPart.set(part, loaded)
    }
  }

  /** The compiled schema of a part given to the constructor (its current version, after reloads). */
  get(part: PartRule): CompiledSchema {
    const loaded = this.byPart.get(part)
    if (loaded === undefined) throw new Error('schema file was not loaded')
    return loaded.compiled
  }

  /** The name a rejection message shows for the file. */
  label(part: PartRule): string {
    return this.byPart.get(part)?.label ?? 'file'
  }

  /** Starts watching the files (not done by the constructor, so a configuration that is refused leaves no watcher). */
  watch(): void {
    const dirs = new Set([...this.byKey.values()].map((l) => dirname(l.file)))
    for (const dir of dirs) {
      try {
        const w = watch(dir, { persistent: false }, () => this.changedSoon())
        w.on('error', () => {})
        this.watchers.push(w)
      } catch {
        // The poll below still sees changes.
      }
    }
    for (const l of this.byKey.values()) {
      if (this.polled.has(l.file)) continue
      this.polled.add(l.file)
      watchFile(l.file, { persistent: false, interval: POLL_MS }, () => this.changedSoon())
    }
  }

  /** Re-reads every file now (also what a change notice leads to). */
  reloadAll(): void {
    for (const l of this.byKey.values()) {
      let text: string
      try {
        text = readFileSync(l.file, 'utf8')
      } catch (err) {
        this.log.warn(
          { file: l.file, err: (err as Error).message },
          'schema file cannot be read; the last good schema stays in use',
        )
        continue
      }
      if (text === l.text) continue
      try {
        l.compiled = compile(l.spec, text, l.file)
        l.text = text
        this.log.info({ file: l.file, format: l.spec.format }, 'schema file reloaded')
      } catch (err) {
        l.text = text
        this.log.warn(
          { file: l.file, err: (err as Error).message },
          'schema file changed but does not compile; the last good schema stays in use',
        )
      }
    }
  }

  close(): void {
    this.closed = true
    for (const w of this.watchers) w.close()
    for (const f of this.polled) unwatchFile(f)
    for (const t of this.timers.values()) clearTimeout(t)
  }

  private changedSoon(): void {
    if (this.closed || this.timers.has('all')) return
    // Editors write in several steps: read once things settle.
    const t = setTimeout(() => {
      this.timers.delete('all')
      if (!this.closed) this.reloadAll()
    }, DEBOUNCE_MS)
    t.unref()
    this.timers.set('all', t)
  }
}

function read(file: string, asWritten: string): string {
  try {
    return readFileSync(file, 'utf8')
  } catch (err) {
    throw new SchemaFileError(`schema file ${asWritten} (${file}) cannot be read: ${(err as Error).message}`)
  }
}

function compile(spec: LocalSchemaSpec, text: string, file: string): CompiledSchema {
  try {
    return compileSchema(spec.format, text, [], spec.message)
  } catch (err) {
    throw new SchemaFileError(`schema file ${spec.path} (${file}): ${(err as Error).message}`)
  }
}
