import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { ConfigError, ConfigWatcher } from '../src/config/index.js'
import { BUILT_IN_FILTERS } from '../src/filter-plugins.js'
import {
  checkFilterEntries,
  loadSidecarConfig,
  parseFilterEntry,
  UnknownFilterError,
  withFilterChecks,
} from '../src/filter-registry.js'
import type { FilterPlugin } from '../src/pipeline/filter-api.js'

function plugin(name: string, parseConfig: (raw: unknown) => unknown = (raw) => raw): FilterPlugin {
  return {
    name,
    parseConfig,
    configure: () => {
      throw new Error('not used here')
    },
  }
}
const LIMIT = plugin('rate-limit', (raw) => {
  const { bytesPerSecond } = raw as { bytesPerSecond?: unknown }
  if (typeof bytesPerSecond !== 'number') throw new Error('bytesPerSecond: expected a number')
  return { bytesPerSecond }
})
const PLUGINS = [LIMIT, plugin('tap')]

describe('filter registry', () => {
  it('parses an entry with its plugin, or throws the error run reports', () => {
    expect(parseFilterEntry({ name: 'rate-limit', config: { bytesPerSecond: 10 } }, PLUGINS)).toEqual({
      plugin: LIMIT,
      config: { bytesPerSecond: 10 },
    })
    expect(() => parseFilterEntry({ name: 'rate-limit' }, PLUGINS)).toThrow('bytesPerSecond: expected a number')
    const unknown = (() => {
      try {
        parseFilterEntry({ name: 'rate-limits' }, PLUGINS)
      } catch (err) {
        return err
      }
    })()
    expect(unknown).toBeInstanceOf(UnknownFilterError)
    expect(unknown).toMatchObject({
      code: 'KSC_ERR_CONFIG_UNKNOWN_FILTER',
      message:
        'filters: unknown filter "rate-limits" (did you mean "rate-limit"?); the filters one can configure are: rate-limit, tap',
    })
  })

  it('lists every problem without throwing', () => {
    const builtIn = BUILT_IN_FILTERS[0]!.plugin.name
    expect(
      checkFilterEntries(
        [{ name: 'tap' }, { name: 'rate-limit', config: { bytesPerSecond: 'fast' } }, { name: builtIn }, { name: 'x' }],
        PLUGINS,
      ),
    ).toEqual([
      { index: 1, key: 'config', message: 'filter "rate-limit" refuses its config: bytesPerSecond: expected a number' },
      { index: 2, key: 'name', message: `"${builtIn}" is built in and always runs: remove it from filters` },
      { index: 3, key: 'name', message: 'unknown filter "x"; the filters one can configure are: rate-limit, tap' },
    ])
    expect(checkFilterEntries([{ name: 'tap' }], [])).toEqual([
      { index: 0, key: 'name', message: 'unknown filter "tap"; the filters one can configure are: none yet' },
    ])
  })
})

describe('loading a configuration with its filters checked', () => {
  let dir: string
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'ksc-filters-'))
  })
  afterEach(() => rmSync(dir, { recursive: true, force: true }))

  it('lists filter problems with every other problem, each with its line', () => {
    const file = join(dir, 'sidecar.yaml')
    writeFileSync(file, 'upstream: { bootstrap: [b:9092] }\nlimits: { maxFrameBytes: 1 }\nfilters:\n  - name: tapp\n')
    let error: unknown
    try {
      loadSidecarConfig({ file, env: {} }, PLUGINS)
    } catch (err) {
      error = err
    }
    expect(error).toBeInstanceOf(ConfigError)
    expect((error as ConfigError).issues).toEqual([
      {
        path: 'limits.maxFrameBytes',
        message: '1 is out of range (expected bytes 1024-2147483647)',
        origin: `${file}:2:11`,
      },
      {
        path: 'filters[0].name',
        message: 'unknown filter "tapp" (did you mean "tap"?); the filters one can configure are: rate-limit, tap',
        origin: `${file}:4:5`,
      },
    ])
  })

  it('makes a hot reload reject a file whose filters the sidecar would refuse, before anything changes', () => {
    const file = join(dir, 'sidecar.yaml')
    writeFileSync(file, 'upstream: { bootstrap: [b:9092] }\nfilters: [{ name: tap }]\n')
    const lines: string[] = []
    const logger = { info: () => {}, warn: () => {}, error: (_: object, msg: string) => lines.push(msg) }
    const watcher = new ConfigWatcher({ ...withFilterChecks({ file, env: {} }, PLUGINS), logger, signals: null })
    try {
      expect(watcher.current.filters).toEqual([{ name: 'tap' }])
      writeFileSync(file, 'upstream: { bootstrap: [b:9092] }\nfilters: [{ name: rate-limit }]\n')
      const outcome = watcher.reload('manual')
      expect(outcome.status).toBe('rejected')
      expect(watcher.current.filters).toEqual([{ name: 'tap' }])
      expect(lines.join('\n')).toContain('filters[0].config: filter "rate-limit" refuses its config')
    } finally {
      watcher.close()
    }
  })
})
