import { EventEmitter, once } from 'node:events'
import { mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import {
  type ConfigChange,
  ConfigError,
  ConfigWatcher,
  type ConfigWatcherOptions,
  type ReloadLogger,
  type SignalSource,
} from '../../src/config/index.js'

interface LogLine {
  level: 'info' | 'warn' | 'error'
  obj: object
  msg: string
}

function recordingLogger(): ReloadLogger & { lines: LogLine[] } {
  const lines: LogLine[] = []
  return {
    lines,
    info: (obj, msg) => lines.push({ level: 'info', obj, msg }),
    warn: (obj, msg) => lines.push({ level: 'warn', obj, msg }),
    error: (obj, msg) => lines.push({ level: 'error', obj, msg }),
  }
}

const BASE = 'upstream: { bootstrap: ["broker-1:9092"] }\n'

function withTimeout<T>(p: Promise<T>, ms = 5000, what = 'event'): Promise<T> {
  return Promise.race([
    p,
    new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms).unref()),
  ])
}

let dir: string
const watchers: ConfigWatcher[] = []
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'ksc-reload-'))
})
afterEach(() => {
  for (const w of watchers.splice(0)) w.close()
  rmSync(dir, { recursive: true, force: true })
})

function startWatcher(file: string, extra: Partial<ConfigWatcherOptions> = {}) {
  const logger = recordingLogger()
  const signals = new EventEmitter() as EventEmitter & SignalSource
  const watcher = new ConfigWatcher({ file, env: {}, logger, signals, debounceMs: 50, pollIntervalMs: 0, ...extra })
  watchers.push(watcher.start())
  return { watcher, logger, signals }
}

describe('ConfigWatcher', () => {
  it('applies a valid change written in place and names the changed sections', async () => {
    const file = join(dir, 'sidecar.yaml')
    writeFileSync(file, `${BASE}log: { level: info }\n`)
    const { watcher, logger } = startWatcher(file)
    expect(watcher.current.log.level).toBe('info')

    const changed = once(watcher, 'change')
    writeFileSync(file, `${BASE}log: { level: debug, frames: true }\nlimits: { maxInflightRequests: 64 }\n`)
    const [change] = (await withTimeout(changed)) as [ConfigChange]

    expect(change.changed).toEqual(['limits', 'log'])
    expect(change.requiresRestart).toEqual([])
    expect(change.trigger).toBe('file')
    expect(change.previous.log.level).toBe('info')
    expect(change.config.log).toEqual({ level: 'debug', frames: true, format: 'json' })
    expect(watcher.current).toBe(change.config)
    expect(Object.isFrozen(watcher.current)).toBe(true)
    expect(logger.lines.at(-1)).toMatchObject({ level: 'info', msg: 'config reloaded: limits, log changed' })
  })

  it('rejects an invalid file with one log line and keeps the running configuration', async () => {
    const file = join(dir, 'sidecar.yaml')
    writeFileSync(file, `${BASE}log: { level: warn }\n`)
    const { watcher, logger } = startWatcher(file)
    const before = watcher.current
    let changes = 0
    watcher.on('change', () => changes++)

    const rejected = once(watcher, 'rejected')
    writeFileSync(file, `${BASE}log: { level: loud }\nlimits: { maxFrameBytes: -1 }\n`)
    const [err] = (await withTimeout(rejected)) as [ConfigError]

    expect(err).toBeInstanceOf(ConfigError)
    expect(err.issues.map((i) => i.path)).toEqual(['limits.maxFrameBytes', 'log.level'])
    expect(watcher.current).toBe(before)
    const errors = logger.lines.filter((l) => l.level === 'error')
    expect(errors).toHaveLength(1)
    expect(errors[0]?.msg).toMatch(/^config reload rejected, keeping the running configuration: invalid configuration/)
    expect(errors[0]?.msg).not.toContain('\n')
    expect(errors[0]?.msg).toContain('log.level: "loud" is not one of')

    // Fixing the file afterwards is picked up.
    const changed = once(watcher, 'change')
    writeFileSync(file, `${BASE}log: { level: error }\n`)
    await withTimeout(changed)
    expect(watcher.current.log.level).toBe('error')
    expect(changes).toBe(1)
  })

  it('detects an editor-style save that renames a new file over the old one', async () => {
    const file = join(dir, 'sidecar.yaml')
    writeFileSync(file, `${BASE}log: { level: info }\n`)
    const { watcher } = startWatcher(file)

    const changed = once(watcher, 'change')
    writeFileSync(join(dir, '.sidecar.yaml.swp'), `${BASE}log: { level: trace }\n`)
    renameSync(join(dir, '.sidecar.yaml.swp'), file)
    await withTimeout(changed)
    expect(watcher.current.log.level).toBe('trace')

    // The watch survives the inode change: a second save is seen too.
    const again = once(watcher, 'change')
    writeFileSync(join(dir, 'tmp'), `${BASE}log: { level: fatal }\n`)
    renameSync(join(dir, 'tmp'), file)
    await withTimeout(again)
    expect(watcher.current.log.level).toBe('fatal')
  })

  it('detects a Kubernetes ConfigMap update (..data symlink swap)', async () => {
    // What the kubelet's atomic writer lays out: config.yaml -> ..data/config.yaml, ..data -> ..<timestamp>
    mkdirSync(join(dir, '..2024_01_01_00_00_00.1'))
    writeFileSync(join(dir, '..2024_01_01_00_00_00.1', 'config.yaml'), `${BASE}log: { level: info }\n`)
    symlinkSync('..2024_01_01_00_00_00.1', join(dir, '..data'))
    symlinkSync('..data/config.yaml', join(dir, 'config.yaml'))
    const { watcher } = startWatcher(join(dir, 'config.yaml'))

    const changed = once(watcher, 'change')
    mkdirSync(join(dir, '..2024_01_01_00_05_00.2'))
    writeFileSync(join(dir, '..2024_01_01_00_05_00.2', 'config.yaml'), `${BASE}log: { level: debug }\n`)
    symlinkSync('..2024_01_01_00_05_00.2', join(dir, '..data_tmp'))
    renameSync(join(dir, '..data_tmp'), join(dir, '..data'))
    rmSync(join(dir, '..2024_01_01_00_00_00.1'), { recursive: true })
    await withTimeout(changed)
    expect(watcher.current.log.level).toBe('debug')
  })

  it('reloads on SIGHUP from an injected signal source and from the process', async () => {
    const file = join(dir, 'sidecar.yaml')
    writeFileSync(file, `${BASE}log: { level: info }\n`)
    const { watcher, signals } = startWatcher(file, { debounceMs: 60_000 }) // file events alone would never fire

    writeFileSync(file, `${BASE}log: { level: warn }\n`)
    const changes: ConfigChange[] = []
    watcher.on('change', (c) => changes.push(c))
    signals.emit('SIGHUP')
    expect(changes.map((c) => [c.trigger, c.config.log.level])).toEqual([['signal', 'warn']])

    // The default signal source is the process itself.
    const logger = recordingLogger()
    const viaProcess = new ConfigWatcher({ file, env: {}, logger, debounceMs: 60_000, pollIntervalMs: 0 })
    watchers.push(viaProcess.start())
    writeFileSync(file, `${BASE}log: { level: error }\n`)
    const changed = once(viaProcess, 'change')
    process.emit('SIGHUP')
    await withTimeout(changed)
    expect(viaProcess.current.log.level).toBe('error')
    viaProcess.close()
    expect(process.listenerCount('SIGHUP')).toBe(0)
  })

  it('reports listen, brokers and admin changes as requiring a restart and does not apply them', () => {
    const file = join(dir, 'sidecar.yaml')
    writeFileSync(file, BASE)
    const { watcher, logger } = startWatcher(file)
    const before = watcher.current

    writeFileSync(file, `${BASE}listen: { port: 19092 }\nadmin: { port: 9645 }\nlog: { level: debug }\n`)
    const outcome = watcher.reload()
    expect(outcome.status).toBe('applied')
    if (outcome.status !== 'applied') return
    expect(outcome.change.changed).toEqual(['log'])
    expect(outcome.change.requiresRestart).toEqual(['listen', 'admin'])
    expect(watcher.current.listen).toBe(before.listen)
    expect(watcher.current.admin).toBe(before.admin)
    expect(watcher.current.log.level).toBe('debug')
    expect(logger.lines.find((l) => l.level === 'warn')?.msg).toBe(
      'config change to listen, admin requires a restart; not applied until then',
    )

    // Only a restart-only change: nothing applied, no 'change' event, still reported.
    writeFileSync(file, `${BASE}listen: { port: 19093 }\nlog: { level: debug }\n`)
    let events = 0
    watcher.on('change', () => events++)
    expect(watcher.reload()).toEqual({ status: 'unchanged', requiresRestart: ['listen'] })
    expect(events).toBe(0)
  })

  it('ignores directory events that leave the file content unchanged', async () => {
    const file = join(dir, 'sidecar.yaml')
    writeFileSync(file, BASE)
    const { watcher, logger } = startWatcher(file)
    let events = 0
    watcher.on('change', () => events++)
    watcher.on('rejected', () => events++)
    writeFileSync(file, BASE) // same bytes
    writeFileSync(join(dir, 'unrelated.txt'), 'x')
    await new Promise((r) => setTimeout(r, 300))
    expect(events).toBe(0)
    expect(logger.lines).toEqual([])
  })

  it('keeps environment and flag overrides on reload', () => {
    const file = join(dir, 'sidecar.yaml')
    writeFileSync(file, `${BASE}log: { level: info }\n`)
    const { watcher } = startWatcher(file, { env: { KAFKA_SIDECAR_LOG_LEVEL: 'warn' }, flags: {} })
    expect(watcher.current.log.level).toBe('warn')
    writeFileSync(file, `${BASE}log: { level: debug, frames: true }\n`)
    const outcome = watcher.reload('manual')
    expect(outcome.status === 'applied' && outcome.change.config.log).toEqual({
      level: 'warn',
      frames: true,
      format: 'json',
    })
  })
})
