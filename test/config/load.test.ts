import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import {
  CONFIG_OVERRIDES,
  ConfigError,
  configFlagOptions,
  formatIssue,
  type LoadConfigInput,
  loadConfig,
  type SidecarConfig,
} from '../../src/config/index.js'
import { reusePortSupported } from '../../src/runtime/node-features.js'
import { createCa } from '../support/openssl-pki.js'

let dir: string
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'ksc-config-'))
})
afterEach(() => {
  rmSync(dir, { recursive: true, force: true })
})

function writeConfig(text: string, name = 'sidecar.yaml'): string {
  const file = join(dir, name)
  writeFileSync(file, text)
  return file
}

/** Loads and expects a ConfigError; returns its issues rendered as the CLI prints them. */
function problems(input: LoadConfigInput): string[] {
  try {
    loadConfig(input)
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError)
    return (err as ConfigError).issues.map(formatIssue)
  }
  throw new Error('expected a ConfigError')
}

describe('loadConfig', () => {
  it('fills every default, with the upstream list from the environment only', () => {
    const config = loadConfig({ env: { KAFKA_SIDECAR_UPSTREAM: 'broker-1:9092, broker-2:9093' } })
    expect(config).toEqual<SidecarConfig>({
      listen: { host: '127.0.0.1', port: 9092, reusePort: false },
      brokers: { host: '127.0.0.1', advertisedHost: '127.0.0.1', portBase: 9093, ports: {} },
      upstream: {
        bootstrap: [
          { host: 'broker-1', port: 9092 },
          { host: 'broker-2', port: 9093 },
        ],
        connectTimeoutMs: 10_000,
        metadataRefreshMs: 30_000,
        tls: { enabled: false, verifyHostname: true, insecureSkipVerify: false },
        client: { clientId: 'kafka-sidecar', requestTimeoutMs: 30_000, metadataMaxAgeMs: 300_000 },
      },
      limits: {
        maxFrameBytes: 104_857_600,
        idleTimeoutMs: 540_000,
        maxInflightRequests: 512,
        drainTimeoutMs: 30_000,
        maxUnauthenticatedFrameBytes: 524_288,
        maxNonRecordRequestBytes: 8_388_608,
        maxBufferedBytesPerConnection: 33_554_432,
        memoryBudgetBytes: 134_217_728,
        requestAssemblyTimeoutMs: 30_000,
        maxClientConnections: 1000,
      },
      admin: { host: '127.0.0.1', port: 9644, enabled: true },
      log: { level: 'info', frames: false, format: 'json' },
      stats: {
        maxClientIds: 100,
        maxTopics: 200,
        maxGroups: 100,
        topics: true,
        clientExpiryMs: 3_600_000,
        audit: { enabled: false, file: '-' },
      },
      filters: [],
    })
    expect(Object.isFrozen(config)).toBe(true)
    expect(Object.isFrozen(config.upstream.bootstrap[0])).toBe(true)
  })

  it('reads a complete file, resolving TLS paths against the file directory', () => {
    // Real PEM: the files' contents are checked too (a self-signed certificate serves as CA and client certificate).
    const pem = createCa(dir, 'client')
    writeFileSync(join(dir, 'ca.pem'), readFileSync(pem.cert))
    const file = writeConfig(`
listen: { host: 0.0.0.0, port: 19092 }
brokers:
  portBase: 20000
  ports: { "1": 19001, 7: "19007" }
upstream:
  bootstrap: ["broker-1:9092", "[::1]:9093", "10.0.0.7:9094"]
  connectTimeoutMs: 5000
  tls: { ca: ca.pem, cert: client.pem, key: ./client.key, servername: kafka.internal }
limits: { maxFrameBytes: 1048576, idleTimeoutMs: 0 }
admin: { port: 9645, enabled: false }
log: { level: debug, frames: true }
filters:
  - name: rate-limit
    config: { perClient: 100 }
  - name: tap
`)
    const config = loadConfig({ file, env: {} })
    expect(config.listen).toEqual({ host: '0.0.0.0', port: 19092, reusePort: false })
    // Bound to every interface: clients are told "localhost", and the broker listeners follow listen.host.
    expect(config.brokers).toEqual({
      host: '0.0.0.0',
      advertisedHost: 'localhost',
      portBase: 20000,
      ports: { '1': 19001, '7': 19007 },
    })
    expect(config.upstream.bootstrap).toEqual([
      { host: 'broker-1', port: 9092 },
      { host: '::1', port: 9093 },
      { host: '10.0.0.7', port: 9094 },
    ])
    expect(config.upstream.tls).toEqual({
      enabled: true, // implied by ca/cert/key
      ca: join(dir, 'ca.pem'),
      cert: join(dir, 'client.pem'),
      key: join(dir, 'client.key'),
      servername: 'kafka.internal',
      verifyHostname: true,
      insecureSkipVerify: false,
    })
    expect(config.limits).toMatchObject({ maxFrameBytes: 1_048_576, idleTimeoutMs: 0, maxInflightRequests: 512 })
    expect(config.admin).toEqual({ host: '127.0.0.1', port: 9645, enabled: false })
    expect(config.log).toEqual({ level: 'debug', frames: true, format: 'json' })
    expect(config.filters).toEqual([{ name: 'rate-limit', config: { perClient: 100 } }, { name: 'tap' }])
  })

  it('layers defaults < file < environment < flags', () => {
    const file = writeConfig(`
listen: { host: 10.1.1.1, port: 9100 }
admin: { enabled: false, port: 9700 }
upstream: { bootstrap: [file-broker:9092] }
log: { level: warn }
brokers: { portBase: 30000 }
`)
    const config = loadConfig({
      env: {
        KAFKA_SIDECAR_CONFIG: file,
        KAFKA_SIDECAR_LISTEN: '0.0.0.0:9200',
        KAFKA_SIDECAR_ADMIN: '0.0.0.0:9800',
        KAFKA_SIDECAR_UPSTREAM: 'env-broker:9092',
        KAFKA_SIDECAR_LOG_LEVEL: 'error',
        KAFKA_SIDECAR_BROKER_PORT_BASE: '', // empty counts as unset
      },
      flags: { listen: '127.0.0.2:9300', 'log-level': 'debug', brokerPortBase: '31000', _: ['run'], $0: 'x' },
    })
    expect(config.listen).toEqual({ host: '127.0.0.2', port: 9300, reusePort: false }) // flag over env over file
    expect(config.admin).toEqual({ host: '0.0.0.0', port: 9800, enabled: false }) // env host:port, file's `enabled` kept
    expect(config.upstream.bootstrap).toEqual([{ host: 'env-broker', port: 9092 }])
    expect(config.log.level).toBe('debug')
    expect(config.brokers.portBase).toBe(31000) // camelCase flag key, as yargs also provides
    expect(config.brokers.advertisedHost).toBe('127.0.0.2') // derived from the final listen.host
  })

  it('takes repeated and comma-separated --upstream flags', () => {
    const config = loadConfig({ env: {}, flags: { upstream: ['a:1,b:2', 'c:3'] } })
    expect(config.upstream.bootstrap.map((b) => `${b.host}:${b.port}`)).toEqual(['a:1', 'b:2', 'c:3'])
  })

  it('lists every problem in the file with its line and column', () => {
    const file = writeConfig(
      [
        'listen:',
        '  host: 127.0.0.1',
        '  port: 70000',
        'upstream:',
        '  bootstrap: ["broker:9092", "broker:99999", "::1:9092"]',
        'admin: { hots: 0.0.0.0 }',
        'log: { level: verbose }',
        'limits: { maxFrameBytes: 12.5 }',
        'fliters: []',
      ].join('\n'),
    )
    const list = problems({ file, env: {} })
    expect(list).toEqual([
      `fliters: unknown key (did you mean "filters"?) (at ${file}:9:1)`,
      `listen.port: 70000 is out of range (expected a port 1-65535) (at ${file}:3:3)`,
      `admin.hots: unknown key (did you mean "host"?) (at ${file}:6:10)`,
      `upstream.bootstrap[1]: "broker:99999" is not a valid host:port (port must be 1-65535) (at ${file}:5:30)`,
      `upstream.bootstrap[2]: "::1:9092" is not a valid host:port (an IPv6 address needs brackets, e.g. [::1]:9092) (at ${file}:5:46)`,
      `limits.maxFrameBytes: 12.5 is not an integer (expected bytes 1024-2147483647) (at ${file}:8:11)`,
      `log.level: "verbose" is not one of trace, debug, info, warn, error, fatal, silent (at ${file}:7:8)`,
    ])
  })

  it('refuses a per-connection request limit that only fits in the half of the memory budget connections may hold', () => {
    const file = writeConfig(
      'upstream: { bootstrap: [b:9092] }\nlimits: { memoryBudgetBytes: 2097152, maxBufferedBytesPerConnection: 1048577 }\n',
    )
    expect(problems({ file, env: {} })).toEqual([
      `limits.maxBufferedBytesPerConnection: is 1048577, more than half of limits.memoryBudgetBytes (1048576 of 2097152; the other half is what client connections themselves may hold): a request that large might never fit; lower it or raise the budget (at ${file}:2:39)`,
    ])
    const fits = writeConfig(
      'upstream: { bootstrap: [b:9092] }\nlimits: { memoryBudgetBytes: 2097152, maxBufferedBytesPerConnection: 1048576 }\n',
    )
    expect(loadConfig({ file: fits, env: {} }).limits.maxBufferedBytesPerConnection).toBe(1048576)
  })

  it('takes listen.reusePort only where Node has SO_REUSEPORT (22.12 and later), since older Node would ignore it', () => {
    expect(reusePortSupported('20.20.2')).toBe(false)
    expect(reusePortSupported('22.11.0')).toBe(false)
    expect(reusePortSupported('22.12.0')).toBe(true)
    expect(reusePortSupported('23.1.0')).toBe(true)
    expect(reusePortSupported('26.12.1')).toBe(true)
    const file = writeConfig('upstream: { bootstrap: [b:9092] }\nlisten: { port: 9092, reusePort: true }\n')
    if (reusePortSupported()) {
      expect(loadConfig({ file, env: {} }).listen).toEqual({ host: '127.0.0.1', port: 9092, reusePort: true })
    } else {
      expect(problems({ file, env: {} })).toEqual([
        `listen.reusePort: needs Node 22.12 or later, and this is Node ${process.versions.node} (which would ignore it without a word): run the container image, whose Node has it, or leave it off (at ${file}:2:23)`,
      ])
    }
    const no = writeConfig('upstream: { bootstrap: [b:9092] }\nlisten: { reusePort: no }\n')
    expect(problems({ file: no, env: {} })).toEqual([
      `listen.reusePort: "no" is not a boolean (expected true or false) (at ${no}:2:11)`,
    ])
  })

  it('says which variable or flag a bad value came from', () => {
    const list = problems({
      env: { KAFKA_SIDECAR_BROKER_PORT_BASE: 'abc', KAFKA_SIDECAR_LISTEN: 'nonsense', KAFKA_SIDECAR_UPSTREAM: 'b:1' },
      flags: { 'log-level': 'loud', 'max-frame-bytes': '10' },
    })
    expect(list).toEqual([
      'listen: "nonsense" is not a valid host:port (the port is missing (expected host:port)) (from KAFKA_SIDECAR_LISTEN)',
      'brokers.portBase: "abc" is not an integer (expected a port 1-65535) (from KAFKA_SIDECAR_BROKER_PORT_BASE)',
      'limits.maxFrameBytes: "10" is out of range (expected bytes 1024-2147483647) (from --max-frame-bytes)',
      'log.level: "loud" is not one of trace, debug, info, warn, error, fatal, silent (from --log-level)',
    ])
  })

  it('requires upstream brokers unless told not to', () => {
    expect(problems({ env: {} })).toEqual([
      'upstream.bootstrap: no upstream brokers: list them in upstream.bootstrap, KAFKA_SIDECAR_UPSTREAM or --upstream (host:port, comma-separated)',
    ])
    expect(loadConfig({ env: {}, requireUpstream: false }).upstream.bootstrap).toEqual([])
  })

  it('reports YAML syntax errors with line:column, and a file that is not a mapping', () => {
    const bad = writeConfig('listen:\n  host: [unclosed\nadmin: {}\n')
    const err = (() => {
      try {
        loadConfig({ file: bad, env: {} })
      } catch (e) {
        return e as ConfigError
      }
    })()
    expect(err).toBeInstanceOf(ConfigError)
    expect(err?.code).toBe('KSC_ERR_CONFIG_INVALID')
    expect(err?.issues[0]?.message).toMatch(/^YAML syntax error: /)
    expect(err?.issues[0]?.origin).toMatch(new RegExp(`^${bad.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:\\d+:\\d+$`))

    const dup = writeConfig('log: { level: info }\nlog: { level: debug }\n', 'dup.yaml')
    expect(problems({ file: dup, env: {} })[0]).toMatch(
      /YAML syntax error: Map keys must be unique \(at .*dup\.yaml:2:1\)/,
    )

    const list = writeConfig('- listen\n- upstream\n', 'list.yaml')
    expect(problems({ file: list, env: {} })).toEqual([
      'the config file must be a YAML mapping of sections (listen, upstream, ...), got a list',
    ])
  })

  it('treats an empty file as all defaults', () => {
    const file = writeConfig('# nothing here yet\n')
    expect(loadConfig({ file, env: { KAFKA_SIDECAR_UPSTREAM: 'b:9092' } }).listen.port).toBe(9092)
  })

  it('fails with its own code when the file cannot be read', () => {
    try {
      loadConfig({ file: join(dir, 'missing.yaml'), env: {} })
      expect.unreachable()
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError)
      expect((err as ConfigError).code).toBe('KSC_ERR_CONFIG_UNREADABLE')
      expect((err as ConfigError).message).toContain('missing.yaml" (ENOENT)')
    }
  })

  it('checks TLS files, cert/key pairing, filters, broker ports and port clashes', () => {
    const file = writeConfig(`
upstream:
  bootstrap: [b:9092]
  tls: { ca: nope/ca.pem, cert: nope/c.pem, enabled: "yes" }
brokers:
  advertisedHost: 0.0.0.0
  ports: { "1": 9092, "2": 19001, "3": 19001, "x": 1 }
admin: { port: 9092 }
filters:
  - { name: tap, config: [1, 2] }
  - { config: {} }
  - just-a-name
`)
    expect(problems({ file, env: {} })).toEqual([
      `brokers.advertisedHost: "0.0.0.0" cannot be told to clients: set the host name or address they can reach the sidecar at (at ${file}:6:3)`,
      `brokers.ports["3"]: port 19001 is already used by node 2 (at ${file}:7:35)`,
      `brokers.ports.x: "x" is not a broker node id (expected a non-negative integer) (at ${file}:7:47)`,
      `upstream.tls.ca: cannot read ${JSON.stringify(join(dir, 'nope/ca.pem'))} (ENOENT): check the path and its permissions (at ${file}:4:10)`,
      `upstream.tls.cert: cannot read ${JSON.stringify(join(dir, 'nope/c.pem'))} (ENOENT): check the path and its permissions (at ${file}:4:27)`,
      `upstream.tls.key: cert and key go together: set both for a client certificate, or neither (at ${file}:4:3)`,
      `upstream.tls.enabled: "yes" is not a boolean (expected true or false) (at ${file}:4:45)`,
      `filters[0].config: expected a mapping of filter settings, got a list (at ${file}:10:18)`,
      `filters[1].name: missing: every filter needs a name (at ${file}:11:5)`,
      `filters[2]: expected a mapping { name, config }, got "just-a-name" (at ${file}:12:5)`,
      // Clashes between sections come last, once each section is known to be valid on its own.
      `admin.port: 9092 is also listen.port: give the admin endpoint its own port (at ${file}:8:10)`,
      `brokers.ports["1"]: 9092 is also listen.port: pick another port (at ${file}:7:12)`,
    ])
  })

  it('reads the stats section: caps, topic decoding, expiry and the audit file (relative to the file)', () => {
    mkdirSync(join(dir, 'audit'), { recursive: true })
    const file = writeConfig(`
upstream: { bootstrap: [b:9092] }
stats:
  maxClientIds: 5
  maxTopics: 7
  maxGroups: 3
  topics: false
  clientExpiryMs: 0
  audit: { enabled: true, file: audit/kafka.jsonl }
`)
    expect(loadConfig({ file, env: {} }).stats).toEqual({
      maxClientIds: 5,
      maxTopics: 7,
      maxGroups: 3,
      topics: false,
      clientExpiryMs: 0,
      audit: { enabled: true, file: join(dir, 'audit/kafka.jsonl') },
    })
    const stdout = writeConfig('upstream: { bootstrap: [b:9092] }\nstats: { audit: { enabled: true, file: "-" } }\n')
    expect(loadConfig({ file: stdout, env: {} }).stats.audit).toEqual({ enabled: true, file: '-' })
  })

  it('names the bad stats keys', () => {
    const file = writeConfig(`
upstream: { bootstrap: [b:9092] }
stats:
  maxClientIds: 0
  maxTopic: 5
  topics: sometimes
  audit: { enabled: true, file: no-such-dir/audit.jsonl }
`)
    expect(problems({ file, env: {} })).toEqual([
      `stats.maxTopic: unknown key (did you mean "maxTopics"?) (at ${file}:5:3)`,
      `stats.maxClientIds: 0 is out of range (expected client ids 1-100000) (at ${file}:4:3)`,
      `stats.topics: "sometimes" is not a boolean (expected true or false) (at ${file}:6:3)`,
      `stats.audit.file: cannot write in ${JSON.stringify(join(dir, 'no-such-dir'))} (ENOENT): create the directory or pick another path (at ${file}:7:27)`,
    ])
  })
})

describe('log.format', () => {
  it('is json unless the file, KAFKA_SIDECAR_LOG_FORMAT or --log-format say pretty; the caller may default it', () => {
    const upstream = { KAFKA_SIDECAR_UPSTREAM: 'b:9092' }
    expect(loadConfig({ env: upstream }).log.format).toBe('json')
    expect(loadConfig({ env: upstream, defaultLogFormat: 'pretty' }).log.format).toBe('pretty')
    const file = writeConfig('upstream: { bootstrap: [b:9092] }\nlog: { format: pretty }\n')
    expect(loadConfig({ file, env: {} }).log.format).toBe('pretty')
    expect(loadConfig({ file, env: { KAFKA_SIDECAR_LOG_FORMAT: 'json' } }).log.format).toBe('json')
    expect(
      loadConfig({ file, env: { KAFKA_SIDECAR_LOG_FORMAT: 'json' }, flags: { 'log-format': 'pretty' } }).log.format,
    ).toBe('pretty')
    // What the file says wins over the caller's default.
    const json = writeConfig('upstream: { bootstrap: [b:9092] }\nlog: { format: json }\n', 'json.yaml')
    expect(loadConfig({ file: json, env: {}, defaultLogFormat: 'pretty' }).log.format).toBe('json')
  })

  it('is checked like every other key', () => {
    const file = writeConfig('upstream: { bootstrap: [b:9092] }\nlog: { format: prety }\n')
    expect(problems({ file, env: {} })).toEqual([
      `log.format: "prety" is not one of json, pretty (did you mean "pretty"?) (at ${file}:2:8)`,
    ])
    expect(problems({ env: { KAFKA_SIDECAR_UPSTREAM: 'b:9092', KAFKA_SIDECAR_LOG_FORMAT: 'text' } })).toEqual([
      'log.format: "text" is not one of json, pretty (from KAFKA_SIDECAR_LOG_FORMAT)',
    ])
  })
})

describe('CONFIG_OVERRIDES', () => {
  it('covers the container environment variables and generates one flag option per override', () => {
    const envs = CONFIG_OVERRIDES.flatMap((o) => (o.env === undefined ? [] : [o.env]))
    expect(envs.sort()).toEqual(
      [
        'KAFKA_SIDECAR_UPSTREAM',
        'KAFKA_SIDECAR_LISTEN',
        'KAFKA_SIDECAR_ADMIN',
        'KAFKA_SIDECAR_LOG_LEVEL',
        'KAFKA_SIDECAR_LOG_FORMAT',
        'KAFKA_SIDECAR_BROKER_PORT_BASE',
        'KAFKA_SIDECAR_ADVERTISED_HOST',
        'KAFKA_SIDECAR_TLS_CERT',
        'KAFKA_SIDECAR_TLS_KEY',
        'KAFKA_SIDECAR_TLS_CLIENT_CA',
        'KAFKA_SIDECAR_TLS_PRINCIPAL_FROM',
      ].sort(),
    )
    const options = configFlagOptions()
    expect(Object.keys(options)).toEqual(CONFIG_OVERRIDES.map((o) => o.flag))
    expect(options.listen?.describe).toContain('[env KAFKA_SIDECAR_LISTEN]')
    expect(options['log-level']?.choices).toContain('debug')
  })

  it('sets the key each override names', () => {
    const pem = createCa(dir, 'server')
    const values: Record<string, string> = {
      upstream: 'u:1',
      listen: '127.0.0.5:1000',
      admin: '127.0.0.6:1001',
      'broker-port-base': '2000',
      'broker-host': '127.0.0.7',
      'advertised-host': 'sidecar.local',
      'log-level': 'trace',
      'log-format': 'pretty',
      'max-frame-bytes': '4096',
      'tls-cert': pem.cert,
      'tls-key': pem.key,
      'tls-client-ca': pem.cert,
      'tls-principal-from': 'dns,cn',
    }
    expect(Object.keys(values).sort()).toEqual(CONFIG_OVERRIDES.map((o) => o.flag).sort())
    const c = loadConfig({ env: {}, flags: values })
    expect(c.upstream.bootstrap).toEqual([{ host: 'u', port: 1 }])
    expect(c.listen).toEqual({
      host: '127.0.0.5',
      port: 1000,
      reusePort: false,
      tls: {
        cert: pem.cert,
        key: pem.key,
        ca: pem.cert,
        requireClientCert: true,
        minVersion: 'TLSv1.2',
        handshakeTimeoutMs: 10_000,
        maxHandshakesPerSecond: 50,
        maxPendingHandshakes: 256,
        thread: 'main',
        principal: { from: ['dns', 'cn'], rules: [] },
      },
    })
    expect(c.admin).toEqual({ host: '127.0.0.6', port: 1001, enabled: true })
    expect(c.brokers).toEqual({ host: '127.0.0.7', advertisedHost: 'sidecar.local', portBase: 2000, ports: {} })
    expect(c.log).toEqual({ level: 'trace', frames: false, format: 'pretty' })
    expect(c.limits.maxFrameBytes).toBe(4096)
  })
})
