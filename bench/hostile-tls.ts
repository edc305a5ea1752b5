/**
 * Hostile clients on a TLS listener (issue 21) against one sidecar terminating mTLS in front of a real single-node
 * Kafka, while a well-behaved client, Kafka's own kafka-producer-perf-test with a client certificate, produces through
 * the same listener. Each pattern gets a fresh sidecar:
 *
 *   flood-mtls     --flood-rate new connections a second, each a full handshake with a valid client certificate,
 *                  closed by the client 100 ms after it completes
 *   flood-nocert   the same without a client certificate (refused in the handshake)
 *   flood-badcert  the same with a certificate from another CA (refused right after the handshake)
 *   idle           --idle-connections (10,000) mTLS handshakes completed, then silent (refused ones tried again),
 *                  with limits.maxClientConnections at --max-client-connections so that the sidecar may hold them
 *   idle-capped    the same against limits.maxClientConnections as shipped (1,000 per listener)
 *   stall-partial  --stall-connections clients that send the first half of a ClientHello and then nothing
 *   stall-hello    --stall-connections clients that send a whole ClientHello and then nothing (the sidecar has done
 *                  its part of the handshake and waits for the client's)
 *
 * Stalled clients closed by the sidecar are replaced at once, for at least 2.5 times the handshake timeout. Figures
 * per pattern are those of bench/hostile.ts (bench/lib/hostile-run.ts), plus: handshakes the hostile clients saw
 * complete, the sidecar's TLS errors and refusals by code and reason, the CPU this process spent on the hostile
 * clients (they share the machine with the sidecar, the broker and the good client), and the two targets: the good
 * client's steady-state MB/s during the pattern (after a fifth of its records, when its connections are up) within
 * 10% of its steady-state MB/s alone (the mean of a run before and one after the pattern), and the sidecar's RSS
 * growth over the pattern (peak minus idle) within limits.memoryBudgetBytes. The whole runs' MB/s, which include
 * getting connected through the attack, are shown beside.
 *
 *   npm run build && node dist/bench/hostile-tls.js [--patterns flood-mtls,idle,...] [--flood-rate 300]
 *       [--idle-connections 10000] [--stall-connections 2000] [--max-client-connections 10500]
 *       [--handshake-timeout-ms 10000] [--settle-s 60] [--records 300000] [--key-type rsa|ec] [--bootstrap HOST:PORT]
 *       [--attack-on sidecar|decoy] [--variant=LABEL[:CONFIG.yaml[:NODE ARGS]]]...
 *
 * `--attack-on decoy` is the control: the hostile clients go to a second sidecar with the same configuration (its own
 * process) while the good client goes through the first. What the good client loses then is the machine's share
 * (the hostile clients' CPU and the handshakes', on the same cores), not the sidecar's: the difference between the
 * two runs is what sharing the sidecar with an attack costs its clients.
 *
 * A variant's CONFIG.yaml is merged over the bench's own (listen.tls, limits). Writes
 * bench/results/hostile-tls-<time>.json. Linux only (/proc).
 */
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { cpus, loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import tls from 'node:tls'
import { parseArgs } from 'node:util'
import { parse, stringify } from 'yaml'
import { runCertsInit } from '../src/commands/certs.js'
import { LIMITS_DEFAULTS } from '../src/config/limits-section.js'
import type { HostileOutcome } from '../test/support/hostile-clients.js'
import {
  captureClientHello,
  handshakeFlood,
  idleTlsConnections,
  stalledHandshakes,
  type TlsHostileOutcome,
} from '../test/support/hostile-tls-clients.js'
import { createCa, issue, type Pem, pemKeystore } from '../test/support/openssl-pki.js'
import { type GoodRun, hostileKafka, measureWindow, median, resultsFile, type Window } from './lib/hostile-run.js'
import { cpuSeconds } from './lib/proc.js'
import { startSidecar } from './lib/targets.js'
import { type Variant, variantsFromArgv } from './lib/variants.js'

const PATTERNS = [
  'flood-mtls',
  'flood-nocert',
  'flood-badcert',
  'idle',
  'idle-capped',
  'stall-partial',
  'stall-hello',
] as const
type Pattern = (typeof PATTERNS)[number]

const { values: opt } = parseArgs({
  options: {
    patterns: { type: 'string', default: PATTERNS.join(',') },
    'flood-rate': { type: 'string', default: '300' },
    'idle-connections': { type: 'string', default: '10000' },
    'stall-connections': { type: 'string', default: '2000' },
    'max-client-connections': { type: 'string', default: '10500' },
    'handshake-timeout-ms': { type: 'string', default: '10000' },
    'settle-s': { type: 'string', default: '60' },
    records: { type: 'string', default: '300000' },
    'key-type': { type: 'string', default: 'rsa' },
    bootstrap: { type: 'string' },
    'attack-on': { type: 'string', default: 'sidecar' },
    variant: { type: 'string', multiple: true },
  },
})

const MiB = 1024 * 1024
const say = (m: string) => process.stderr.write(`[hostile-tls ${new Date().toISOString().slice(11, 19)}] ${m}\n`)

/** Certificates from `certs init`: the sidecar's, the good client's and the hostile ones, and another CA's. */
interface Pki {
  dir: string
  /** listen.tls for the sidecar. */
  listenTls: { cert: string; key: string; ca: string }
  /** The good client's producer properties. */
  goodProps: string[]
  /** Client sides of the hostile patterns. */
  mtls: tls.ConnectionOptions
  noCert: tls.ConnectionOptions
  badCert: tls.ConnectionOptions
}

/**
 * rsa: `certs init` (RSA 2048, as the product's development PKI makes them); ec: P-256 from the openssl CLI, as
 * SPIFFE issuers such as SPIRE make them by default. A full handshake costs the server one signature with its key:
 * what the key type changes is the sidecar's CPU per handshake.
 */
function makePki(keyType: 'rsa' | 'ec'): Pki {
  const dir = mkdtempSync(join(tmpdir(), 'ksc-hostile-tls-'))
  const own = join(dir, 'own')
  const other = join(dir, 'other')
  let files: { ca: string; server: Pem; good: Pem; flood: Pem; mallory: Pem }
  if (keyType === 'rsa') {
    for (const [d, clients] of [
      [own, ['good', 'flood']],
      [other, ['mallory']],
    ] as const) {
      const r = runCertsInit({ dir: d, clients, hosts: [], days: 2, force: false })
      if (r.exitCode !== 0) throw new Error(r.stderr)
    }
    const client = (d: string, name: string): Pem => ({
      cert: join(d, `client-${name}.pem`),
      key: join(d, `client-${name}.key`),
    })
    files = {
      ca: join(own, 'ca.pem'),
      server: { cert: join(own, 'server.pem'), key: join(own, 'server.key') },
      good: client(own, 'good'),
      flood: client(own, 'flood'),
      mallory: client(other, 'mallory'),
    }
  } else {
    const ca = createCa(own, 'bench-ca')
    const otherCa = createCa(other, 'other-ca')
    files = {
      ca: ca.cert,
      server: issue(ca, { cn: 'sidecar', san: ['127.0.0.1', 'localhost'], usage: 'server' }),
      good: issue(ca, { cn: 'good' }),
      flood: issue(ca, { cn: 'flood' }),
      mallory: issue(otherCa, { cn: 'mallory' }),
    }
  }
  const ca = readFileSync(files.ca)
  const read = (pem: Pem) => ({ cert: readFileSync(pem.cert), key: readFileSync(pem.key) })
  // One context per client side, as a client that connects often keeps it: key and certificates are parsed once,
  // not for every connection, which keeps the hostile clients' own CPU (on the same cores as the sidecar) down.
  const context = (o: tls.SecureContextOptions): tls.ConnectionOptions => ({
    secureContext: tls.createSecureContext(o),
  })
  return {
    dir,
    listenTls: { ...files.server, ca: files.ca },
    goodProps: [
      'security.protocol=SSL',
      'ssl.truststore.type=PEM',
      `ssl.truststore.location=${files.ca}`,
      'ssl.keystore.type=PEM',
      `ssl.keystore.location=${pemKeystore(files.good, join(own, 'good.keystore.pem'))}`,
    ],
    mtls: context({ ca, ...read(files.flood) }),
    noCert: context({ ca }),
    badCert: context({ ca, ...read(files.mallory) }),
  }
}

interface Row {
  variant: string
  pattern: Pattern
  /** --attack-on decoy: the CPU seconds of the sidecar the hostile clients went to (the window's own is the good one's). */
  decoyCpuSeconds: number | null
  memoryBudgetMb: number
  window: Omit<Window<TlsHostileOutcome | HostileOutcome>, 'outcome'>
  outcome: {
    attempted: number
    handshakesCompleted: number | null
    closedBySidecar: number
    failedToConnect: number
    stillOpen: number
    medianClosedAfterMs: number | null
    medianHandshakeMs: number | null
  }
  /** Good steady-state MB/s during over the mean of before and after (established connections). */
  goodRatio: number
  /** The same for whole runs (connecting through the attack included). */
  goodRatioWhole: number
  goodWithin10Percent: boolean
  rssGrowthMb: number
  memoryWithinBudget: boolean
}

function runPattern(
  pattern: Pattern,
  pki: Pki,
  hello: Buffer,
): (address: string, stop: Promise<void>, engaged: () => void) => Promise<TlsHostileOutcome | HostileOutcome> {
  const floodRate = Number(opt['flood-rate'])
  const stallConnections = Number(opt['stall-connections'])
  const hour = 3_600_000
  return async (address, stop, engaged) => {
    const flood = (client: tls.ConnectionOptions) => {
      setTimeout(engaged, 2_000)
      return handshakeFlood({ address, tls: client, perSecond: floodRate, durationMs: hour, until: stop })
    }
    switch (pattern) {
      case 'flood-mtls':
        return flood(pki.mtls)
      case 'flood-nocert':
        return flood(pki.noCert)
      case 'flood-badcert':
        return flood(pki.badCert)
      case 'idle':
      case 'idle-capped':
        return idleTlsConnections({
          address,
          tls: pki.mtls,
          connections: Number(opt['idle-connections']),
          holdMs: hour,
          until: stop,
          onOpen: engaged,
        })
      case 'stall-partial':
      case 'stall-hello':
        return stalledHandshakes({
          address,
          bytes: pattern === 'stall-hello' ? hello : hello.subarray(0, Math.floor(hello.length / 2)),
          connections: stallConnections,
          durationMs: hour,
          until: stop,
          onOpen: engaged,
        })
    }
  }
}

/** The bench's sidecar configuration for `pattern`, with a variant's own file merged over it. */
function sidecarConfig(
  pki: Pki,
  pattern: Pattern,
  variant: Variant,
  logDir: string,
): { file: string; memoryBudgetBytes: number } {
  const config: Record<string, Record<string, unknown>> = {
    listen: { tls: { ...pki.listenTls, handshakeTimeoutMs: Number(opt['handshake-timeout-ms']) } },
    limits: pattern === 'idle-capped' ? {} : { maxClientConnections: Number(opt['max-client-connections']) },
  }
  if (variant.configFile !== undefined) {
    const own = (parse(readFileSync(variant.configFile, 'utf8')) ?? {}) as Record<string, Record<string, unknown>>
    for (const [section, value] of Object.entries(own)) {
      const listenTls = section === 'listen' ? { tls: { ...config.listen!.tls!, ...(value.tls ?? {}) } } : {}
      config[section] = { ...(config[section] ?? {}), ...value, ...listenTls }
    }
  }
  const file = join(logDir, `sidecar-${variant.label}-${pattern}.yaml`)
  writeFileSync(file, stringify(config))
  const budget = config.limits?.memoryBudgetBytes
  return { file, memoryBudgetBytes: typeof budget === 'number' ? budget : LIMITS_DEFAULTS.memoryBudgetBytes }
}

async function measure(
  pattern: Pattern,
  variant: Variant,
  ctx: {
    upstream: string
    jars: Parameters<typeof measureWindow>[2]['jars']
    logDir: string
    records: number
    settleMs: number
    pki: Pki
    hello: Buffer
  },
): Promise<Row> {
  const { file, memoryBudgetBytes } = sidecarConfig(ctx.pki, pattern, variant, ctx.logDir)
  // The sidecar under test, and for --attack-on decoy a second one like it for the hostile clients.
  const start = (label: string) =>
    startSidecar({
      upstream: ctx.upstream,
      maxNodeId: 1,
      logDir: ctx.logDir,
      label,
      nodeArgs: variant.nodeArgs,
      configFile: file,
      logLevel: 'info',
      ...(variant.cli === undefined ? {} : { cli: variant.cli }),
    })
  const target = await start(`${variant.label}-${pattern}`)
  const stalled = pattern.startsWith('stall-')
  // The control (--attack-on decoy): the same attack on a sidecar of its own, the good client's untouched by it.
  const decoy = opt['attack-on'] === 'decoy' ? await start(`${variant.label}-${pattern}-decoy`) : undefined
  const attack = runPattern(pattern, ctx.pki, ctx.hello)
  const aimed: typeof attack =
    decoy === undefined ? attack : (_address, stop, engaged) => attack(decoy.bootstrap, stop, engaged)
  const decoyCpu0 = decoy?.pid === undefined ? 0 : cpuSeconds(decoy.pid)
  const w = await measureWindow(target, aimed, {
    jars: ctx.jars,
    records: ctx.records,
    settleMs: ctx.settleMs,
    goodProps: ctx.pki.goodProps,
    goodAfter: true,
    // The good client connects while the pattern runs: its steady state (after a fifth of its records) is what
    // established connections get, the whole run includes getting connected through the attack.
    goodWarmupRecords: Math.floor(ctx.records / 5),
    // Long enough for every stalled client to meet the handshake timeout twice.
    minMs: stalled ? 2.5 * Number(opt['handshake-timeout-ms']) : 0,
  })
  const decoyCpuSeconds = decoy?.pid === undefined ? null : cpuSeconds(decoy.pid) - decoyCpu0
  await decoy?.stop()
  const { outcome: o, ...window } = w
  const tlsOutcome = 'handshakesCompleted' in o ? o : undefined
  const ratio = (f: (g: GoodRun) => number | undefined): number => {
    const alone = [w.before, w.after].flatMap((g) => (g === undefined ? [] : [f(g) ?? Number.NaN]))
    return (f(w.during) ?? Number.NaN) / (alone.reduce((a, b) => a + b, 0) / alone.length)
  }
  const goodRatio = ratio((g) => g.steadyMbPerSec)
  const goodRatioWhole = ratio((g) => g.mbPerSec)
  const rssGrowthMb = w.peakRssMb - w.idleRssMb
  return {
    variant: decoy === undefined ? variant.label : `${variant.label} (attack on a decoy)`,
    pattern,
    decoyCpuSeconds,
    memoryBudgetMb: memoryBudgetBytes / MiB,
    window,
    outcome: {
      attempted: o.attempted,
      handshakesCompleted: tlsOutcome?.handshakesCompleted ?? null,
      closedBySidecar: o.closedBySidecar,
      failedToConnect: o.failedToConnect,
      stillOpen: o.stillOpen,
      medianClosedAfterMs: median(o.closedAfterMs),
      medianHandshakeMs: tlsOutcome === undefined ? null : median(tlsOutcome.handshakeMs),
    },
    goodRatio,
    goodRatioWhole,
    goodWithin10Percent: goodRatio >= 0.9,
    rssGrowthMb,
    memoryWithinBudget: rssGrowthMb <= memoryBudgetBytes / MiB,
  }
}

/** KSC_ERR_TLS_HANDSHAKE_TIMEOUT 12 -> "HANDSHAKE_TIMEOUT 12", largest first. */
function codes(byCode: Record<string, number>): string {
  const entries = Object.entries(byCode).sort((a, b) => b[1] - a[1])
  return entries.length === 0 ? '-' : entries.map(([k, v]) => `${k.replace(/^KSC_ERR_(TLS_)?/, '')} ${v}`).join(', ')
}

function table(rows: readonly Row[], settleS: number): string {
  const f = (x: number, d = 0) => (Number.isFinite(x) ? x.toFixed(d) : 'n/a')
  // Steady state / whole run, and the run's errors if any.
  const good = (g: GoodRun | undefined) =>
    g === undefined
      ? '-'
      : `${f(g.steadyMbPerSec ?? Number.NaN, 1)} / ${f(g.mbPerSec, 1)}${g.errors ? ` (${g.errors} err)` : ''}`
  const out = [
    `| variant | pattern | idle RSS MB | peak RSS MB | growth MB / budget | RSS +10 s | RSS +${settleS} s | hostile conns | handshakes done (client) | closed by sidecar | median ms to close | refused (metric) | errors counted (sidecar) | max fds | sidecar CPU s | hostile clients CPU s | good MB/s steady / whole: before | during | after | during / alone: steady, whole | targets |`,
    '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---|',
  ]
  for (const r of rows) {
    const o = r.outcome
    const w = r.window
    const refused = codes(w.refusedByReason)
    out.push(
      `| ${r.variant} | ${r.pattern} | ${f(w.idleRssMb)} | ${f(w.peakRssMb)} | ${f(r.rssGrowthMb)} / ${f(r.memoryBudgetMb)} | ` +
        `${f(w.rss10sMb)} | ${f(w.rssSettledMb)} | ${o.attempted} | ${o.handshakesCompleted ?? '-'} | ${o.closedBySidecar} | ` +
        `${o.medianClosedAfterMs ?? '-'} | ${refused} | ${codes(w.errorsByCode)} | ${w.maxFds} | ${f(w.cpuSeconds, 1)}` +
        `${r.decoyCpuSeconds === null ? '' : ` (decoy ${f(r.decoyCpuSeconds, 1)})`} | ` +
        `${f(w.patternCpuSeconds, 1)} | ${good(w.before)} | ${good(w.during)} | ${good(w.after)} | ` +
        `${f(r.goodRatio, 2)}, ${f(r.goodRatioWhole, 2)} | ` +
        `${r.goodWithin10Percent ? 'good ok' : 'GOOD SLOWER'}, ${r.memoryWithinBudget ? 'memory ok' : 'OVER BUDGET'} |`,
    )
  }
  return out.join('\n')
}

async function main(): Promise<void> {
  const patterns = opt.patterns.split(',').map((p) => {
    if (!(PATTERNS as readonly string[]).includes(p)) throw new Error(`--patterns: unknown "${p}" (${PATTERNS})`)
    return p as Pattern
  })
  const settleS = Number(opt['settle-s'])
  const records = Number(opt.records)
  const variants = variantsFromArgv()
  const logDir = mkdtempSync(join(tmpdir(), 'ksc-hostile-tls-logs-'))
  if (opt['attack-on'] !== 'sidecar' && opt['attack-on'] !== 'decoy') {
    throw new Error(`--attack-on: sidecar or decoy, not "${opt['attack-on']}"`)
  }
  const keyType = opt['key-type']
  if (keyType !== 'rsa' && keyType !== 'ec') throw new Error(`--key-type: rsa or ec, not "${keyType}"`)
  const pki = makePki(keyType)
  const hello = await captureClientHello({ ...pki.mtls, servername: 'localhost' })
  const load: number[][] = [loadavg()]
  say(`${cpus().length} cores, load ${load[0]!.map((l) => l.toFixed(2))}; logs in ${logDir}`)
  const kafka = await hostileKafka(opt.bootstrap, say)
  const rows: Row[] = []
  try {
    for (const variant of variants)
      for (const pattern of patterns) {
        say(`${variant.label}: ${pattern} (load ${loadavg().map((l) => l.toFixed(2))})`)
        const row = await measure(pattern, variant, {
          upstream: kafka.upstream,
          jars: kafka.jars,
          logDir,
          records,
          settleMs: settleS * 1000,
          pki,
          hello,
        })
        rows.push(row)
        load.push(loadavg())
        say(`  ${table([row], settleS).split('\n')[2]}`)
      }
  } finally {
    await kafka.stop()
  }
  const loads = load.map((l) => l[0]!)
  console.log(
    `\nHostile clients on an mTLS listener (issue 21); good client: kafka-producer-perf-test over mTLS, ${records} x 1 KiB, ` +
      `acks=all; ${keyType === 'rsa' ? 'RSA 2048 (certs init)' : 'EC P-256 (openssl)'} certificates; flood ${opt['flood-rate']}/s, ${opt['idle-connections']} idle, ${opt['stall-connections']} stalled; ` +
      `listen.tls.handshakeTimeoutMs ${opt['handshake-timeout-ms']}, limits.maxClientConnections ${opt['max-client-connections']}; ` +
      `${cpus().length} cores, Node ${process.version}; 1-minute load average ${Math.min(...loads).toFixed(1)}-${Math.max(...loads).toFixed(1)}\n`,
  )
  console.log(table(rows, settleS))
  const out = resultsFile('hostile-tls')
  mkdirSync(new URL('.', out), { recursive: true })
  writeFileSync(
    out,
    `${JSON.stringify({ node: process.version, cpus: cpus().length, options: opt, loadAverages: load, rows }, null, 2)}\n`,
  )
  console.log(`figures written to ${out.pathname}`)
}

await main()
