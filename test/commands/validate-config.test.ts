import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { runValidateConfig } from '../../src/commands/validate-config.js'

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
    const r = runValidateConfig({ file, env: {} })
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
        '  log       info (frames off)',
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
    expect(r.stdout).toContain('  log       debug (frames off)')
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
    expect(none.stderr).toContain(
      'name the config file: kafka-sidecar validate-config FILE (or set KAFKA_SIDECAR_CONFIG)',
    )
    const missing = runValidateConfig({ file: join(dir, 'nope.yaml'), env: {} })
    expect(missing.exitCode).toBe(1)
    expect(missing.stderr).toContain('nope.yaml" (ENOENT): check the path given by --config or KAFKA_SIDECAR_CONFIG')
  })
})
