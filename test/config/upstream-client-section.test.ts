import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { validateConfig } from '../../src/config/schema.js'

const base = { upstream: { bootstrap: ['broker:9092'] } }
const withClient = (client: unknown) => validateConfig({ upstream: { ...base.upstream, client } })

describe('upstream.client', () => {
  it('defaults: client id kafka-sidecar, no SASL', () => {
    const { config } = validateConfig(base)
    expect(config?.upstream.client).toEqual({
      clientId: 'kafka-sidecar',
      requestTimeoutMs: 30_000,
      metadataMaxAgeMs: 300_000,
    })
  })

  it('SASL with a password, or a password file relative to the config file (trailing newline dropped)', () => {
    expect(
      withClient({ sasl: { mechanism: 'PLAIN', username: 'tap', password: 's3cret' } }).config?.upstream.client.sasl,
    ).toEqual({
      mechanism: 'PLAIN',
      username: 'tap',
      password: 's3cret',
    })
    const dir = mkdtempSync(join(tmpdir(), 'ksc-upstream-client-'))
    writeFileSync(join(dir, 'pw'), 'from-file\n')
    const r = validateConfig(
      { upstream: { ...base.upstream, client: { sasl: { username: 'tap', passwordFile: 'pw' } } } },
      { baseDir: dir },
    )
    expect(r.config?.upstream.client.sasl).toEqual({
      mechanism: 'SCRAM-SHA-512',
      username: 'tap',
      password: 'from-file',
    })
  })

  it('refuses what cannot work, naming the key', () => {
    const issues = (client: unknown) => withClient(client).issues.map((i) => `${i.segments.join('.')}: ${i.message}`)
    expect(issues({ sasl: { mechanism: 'GSSAPI', username: 'x', password: 'y' } }).join()).toMatch(
      /mechanism.*not one of PLAIN, SCRAM-SHA-256, SCRAM-SHA-512/,
    )
    expect(issues({ sasl: { mechanism: 'PLAIN', password: 'y' } }).join()).toMatch(/username.*missing/)
    expect(issues({ sasl: { username: 'x' } }).join()).toMatch(/KAFKA_SIDECAR_UPSTREAM_CLIENT_PASSWORD/)
    expect(issues({ sasl: { username: 'x', password: 'a', passwordFile: 'b' } }).join()).toMatch(
      /both password and passwordFile/,
    )
    expect(issues({ clientID: 'x' }).join()).toMatch(/clientID/)
  })
})
