import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { runValidateConfig } from '../../src/commands/validate-config.js'
import { FILTER_PLUGINS } from '../../src/filter-plugins.js'
import type { FilterPlugin } from '../../src/pipeline/filter-api.js'

const CLI = new URL('../../dist/src/cli.js', import.meta.url).pathname

/** Filters that exist only here: the sidecar ships none users can configure yet. */
function plugin(name: string, parseConfig: (raw: unknown) => unknown = () => undefined): FilterPlugin {
  return {
    name,
    parseConfig,
    configure: () => {
      throw new Error('not used by validate-config')
    },
  }
}
const TAP = plugin('tap', (raw) => {
  const topic = (raw as { topic?: unknown }).topic
  if (typeof topic !== 'string' || topic === '') throw new Error('topic: expected the name of the topic to copy to')
  return { topic }
})
const PLUGINS = [plugin('rate-limit'), TAP]
/** How the sidecar's own list of configurable filters reads in a message. */
const SHIPPED = FILTER_PLUGINS.map((p) => p.name).join(', ') || 'none yet'

let dir: string
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'ksc-validate-'))
})
afterEach(() => {
  rmSync(dir, { recursive: true, force: true })
})

function write(text: string): string {
  const file = join(dir, 'sidecar.yaml')
  writeFileSync(file, text)
  return file
}

describe('validate-config', () => {
  it('prints ok and a summary of what the sidecar would do', () => {
    const file = write(`
listen: { host: 0.0.0.0, port: 9092 }
brokers: { ports: { "1": 19001 } }
upstream: { bootstrap: ["broker-1:9092", "[::1]:9093"] }
filters: [{ name: rate-limit }, { name: tap, config: { topic: mirror } }]
`)
    const r = runValidateConfig({ file, env: {}, plugins: PLUGINS })
    expect(r.exitCode).toBe(0)
    expect(r.stderr).toBe('')
    expect(r.stdout).toBe(
      [
        `ok: ${file}`,
        '  listen    0.0.0.0:9092',
        '  brokers   bind 0.0.0.0, advertised as localhost, port 9093 + node id (node 1: 19001)',
        '  upstream  broker-1:9092, [::1]:9093 (TLS off; connect timeout 10000 ms, metadata refresh 30000 ms)',
        '  limits    max frame 104857600 bytes, idle timeout 540000 ms, 512 in-flight requests, drain 30000 ms',
        '  admin     127.0.0.1:9644',
        '  log       info, json (frames off)',
        '  stats     up to 100 client ids, 200 topics, 100 groups; per-topic decoding on; audit off',
        '  filters   rate-limit -> tap',
        '',
      ].join('\n'),
    )
  })

  it('lists every problem and exits 1', () => {
    const file = write('listen: { port: 0 }\nupstream: { bootstrap: ["broker:99999"] }\nadmn: {}\n')
    const r = runValidateConfig({ file, env: {} })
    expect(r.exitCode).toBe(1)
    expect(r.stdout).toBe('')
    expect(r.stderr).toBe(
      [
        `invalid configuration (${file}), 3 problems:`,
        `  - admn: unknown key (did you mean "admin"?) (at ${file}:3:1)`,
        `  - listen.port: 0 is out of range (expected a port 1-65535) (at ${file}:1:11)`,
        `  - upstream.bootstrap[0]: "broker:99999" is not a valid host:port (port must be 1-65535) (at ${file}:2:25)`,
        '',
      ].join('\n'),
    )
  })

  it('applies environment and flag overrides as run would, and says which', () => {
    const file = write('log: { level: info }\n')
    const env = { KAFKA_SIDECAR_UPSTREAM: 'b1:9092,b2:9092', KAFKA_SIDECAR_LOG_LEVEL: 'warn' }
    const r = runValidateConfig({ file, env, flags: { 'log-level': 'debug' } })
    expect(r.exitCode).toBe(0)
    expect(r.stdout).toContain('  upstream  b1:9092, b2:9092 (')
    expect(r.stdout).toContain('  log       debug, json (frames off)')
    expect(r.stdout).toContain('  overrides KAFKA_SIDECAR_UPSTREAM, KAFKA_SIDECAR_LOG_LEVEL, --log-level\n')

    // --no-env: the file alone, which names no upstream brokers.
    const alone = runValidateConfig({ file, env, useEnv: false })
    expect(alone.exitCode).toBe(1)
    expect(alone.stderr).toContain('upstream.bootstrap: no upstream brokers')
  })

  it('takes the file from KAFKA_SIDECAR_CONFIG, and needs one', () => {
    const file = write('upstream: { bootstrap: [b:9092] }\n')
    expect(runValidateConfig({ env: { KAFKA_SIDECAR_CONFIG: file } }).exitCode).toBe(0)
    const none = runValidateConfig({ env: {} })
    expect(none.exitCode).toBe(2)
    expect(none.stderr).toBe(
      'error KSC_ERR_CLI_USAGE: name the config file: kafka-sidecar validate-config FILE, or --config FILE, or set KAFKA_SIDECAR_CONFIG (see kafka-sidecar validate-config --help)\n',
    )
    const missing = runValidateConfig({ file: join(dir, 'nope.yaml'), env: {} })
    expect(missing.exitCode).toBe(1)
    expect(missing.stderr).toContain('nope.yaml" (ENOENT): check the path given by --config or KAFKA_SIDECAR_CONFIG')
  })

  it('refuses filters the sidecar does not have, as run does', () => {
    const file = write('upstream: { bootstrap: [b:9092] }\nfilters:\n  - name: no-such-filter\n')
    // The sidecar's own filters: none can be configured yet.
    const r = runValidateConfig({ file, env: {} })
    expect(r.exitCode).toBe(1)
    expect(r.stdout).toBe('')
    expect(r.stderr).toBe(
      [
        `invalid configuration (${file}), 1 problem:`,
        `  - filters[0].name: unknown filter "no-such-filter"; the filters one can configure are: ${SHIPPED} (at ${file}:3:5)`,
        '',
      ].join('\n'),
    )
  })

  it("names the nearest filter, refuses the built-in ones, and runs each filter's own config check", () => {
    const file = write(
      [
        'upstream: { bootstrap: [b:9092] }',
        'filters:',
        '  - name: rate-limt',
        '  - name: broker-address',
        '  - name: tap',
        '    config: { topc: mirror }',
        '  - name: tap',
        '    config: { topic: mirror }',
        '',
      ].join('\n'),
    )
    const r = runValidateConfig({ file, env: {}, plugins: PLUGINS })
    expect(r.exitCode).toBe(1)
    expect(r.stderr).toBe(
      [
        `invalid configuration (${file}), 3 problems:`,
        `  - filters[0].name: unknown filter "rate-limt" (did you mean "rate-limit"?); the filters one can configure are: rate-limit, tap (at ${file}:3:5)`,
        `  - filters[1].name: "broker-address" is built in and always runs: remove it from filters (at ${file}:4:5)`,
        `  - filters[2].config: filter "tap" refuses its config: topic: expected the name of the topic to copy to (at ${file}:6:5)`,
        '',
      ].join('\n'),
    )
  })

  it('reports the shape of filters entries first, and then only those', () => {
    const file = write('upstream: { bootstrap: [b:9092] }\nfilters: [{ config: {} }, { name: nope }]\n')
    const r = runValidateConfig({ file, env: {}, plugins: PLUGINS })
    expect(r.exitCode).toBe(1)
    expect(r.stderr).toContain('filters[0].name: missing: every filter needs a name')
    expect(r.stderr).not.toContain('unknown filter "nope"')
  })
})

describe('validate-config and run (built CLI): the same file, named the same ways, the same verdict', () => {
  function cli(args: string[], env: Record<string, string> = {}) {
    expect(existsSync(CLI), 'run npm run build (npm test does it) before this test').toBe(true)
    const r = spawnSync(process.execPath, [CLI, ...args], {
      encoding: 'utf8',
      timeout: 30_000,
      env: { ...process.env, KAFKA_SIDECAR_CONFIG: '', KAFKA_SIDECAR_UPSTREAM: '', ...env },
    })
    return { status: r.status, stdout: r.stdout, stderr: r.stderr }
  }

  it('refuses an unknown filter: validate-config FILE, --config FILE and KAFKA_SIDECAR_CONFIG alike, and run', () => {
    // Port 1 would need root to listen on: if run did not refuse the file, it would fail later, differently.
    const file = write(
      'listen: { port: 1 }\nupstream: { bootstrap: [127.0.0.1:1] }\nfilters: [{ name: no-such-filter }]\n',
    )
    const expected = [
      `invalid configuration (${file}), 1 problem:`,
      `  - filters[0].name: unknown filter "no-such-filter"; the filters one can configure are: ${SHIPPED} (at ${file}:3:13)`,
      '',
    ].join('\n')
    const runs = [
      cli(['validate-config', file]),
      cli(['validate-config', '--config', file]),
      cli(['validate-config'], { KAFKA_SIDECAR_CONFIG: file }),
      cli(['run', '--config', file]),
      cli(['run'], { KAFKA_SIDECAR_CONFIG: file }),
    ]
    for (const r of runs) {
      expect(r.stderr).toBe(expected)
      expect(r.stdout).toBe('')
      expect(r.status).toBe(1)
    }
  })

  it('accepts a valid file named either way, and refuses two different files', () => {
    const file = write('upstream: { bootstrap: [b:9092] }\n')
    expect(cli(['validate-config', file]).status).toBe(0)
    const viaFlag = cli(['validate-config', '--config', file])
    expect(viaFlag.stdout).toContain(`ok: ${file}\n`)
    expect(viaFlag.status).toBe(0)
    const two = cli(['validate-config', file, '--config', join(dir, 'other.yaml')])
    expect(two.stderr).toBe(
      `error KSC_ERR_CLI_USAGE: two config files, ${JSON.stringify(file)} and --config ${JSON.stringify(join(dir, 'other.yaml'))}: name one (see kafka-sidecar validate-config --help)\n`,
    )
    expect(two.status).toBe(2)
  })
})
