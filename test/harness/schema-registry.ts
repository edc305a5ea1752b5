import { closeSync, existsSync, openSync, readdirSync } from 'node:fs'
import { mkdir, mkdtemp, rename, rm } from 'node:fs/promises'
import { homedir, tmpdir } from 'node:os'
import { join } from 'node:path'
import { allocatePorts } from './free-port.js'
import { readLogSince, summarizeLog } from './log-tail.js'
import { runCommand } from './run-command.js'
import { waitFor } from './wait-for.js'
import { spawnWatched, type WatchedProcess } from './watchdog.js'

/**
 * A real schema registry for the tests: Apicurio Registry, its full runnable distribution from Maven Central
 * (io.apicurio:apicurio-registry-app:<version>:tar.gz:all, a Quarkus "fast-jar": quarkus-run.jar plus lib/), with its
 * default in-memory storage, so every start is empty. Its Confluent-compatible API is at /apis/ccompat/v7 and its
 * default compatibility level is NONE (Confluent's is BACKWARD). It needs Java 21 or newer, which is found among the
 * system's JVMs (/usr/lib/jvm) when `java` on the PATH is older. Both its HTTP port and its management port
 * (quarkus.management.port, default 0.0.0.0:9000, which serves /health/ready) are bound to 127.0.0.1 on free ports.
 * The JVM runs under the harness watchdog: it dies with the process that started it.
 */
export const APICURIO_VERSION = '3.3.3'
const ARTIFACT = (version: string) => `io.apicurio:apicurio-registry-app:${version}:tar.gz:all`
const MIN_JAVA = 21
const READY_TIMEOUT_MS = 120_000

export interface SchemaRegistryDescription {
  /** Base of the Confluent-compatible API, e.g. http://127.0.0.1:41234/apis/ccompat/v7. */
  readonly url: string
  /** The registry's HTTP root (Apicurio's own API is under /apis/registry/v3). */
  readonly httpUrl: string
  readonly managementUrl: string
  readonly version: string
}

export class SchemaRegistryHarnessError extends Error {
  readonly code = 'KSC_ERR_HARNESS_SCHEMA_REGISTRY'
}

function cacheDir(): string {
  return join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'kafka-sidecar')
}

/** A Java 21+ `java`: JAVA21_HOME, JAVA_HOME or PATH when new enough, else the newest JDK under /usr/lib/jvm. */
export async function findJava21(): Promise<string> {
  const candidates: string[] = []
  for (const home of [process.env.JAVA21_HOME, process.env.JAVA_HOME])
    if (home) candidates.push(join(home, 'bin', 'java'))
  candidates.push('java')
  const jvmRoot = '/usr/lib/jvm'
  if (existsSync(jvmRoot)) {
    for (const name of readdirSync(jvmRoot).sort().reverse()) {
      const java = join(jvmRoot, name, 'bin', 'java')
      if (existsSync(java)) candidates.push(java)
    }
  }
  const seen: string[] = []
  for (const java of candidates) {
    const major = await javaMajor(java)
    if (major === undefined) continue
    seen.push(`${java} (${major})`)
    if (major >= MIN_JAVA) return java
  }
  throw new SchemaRegistryHarnessError(
    `Apicurio Registry needs Java ${MIN_JAVA}+; found ${seen.join(', ') || 'no java'}. Install one (e.g. apt-get install openjdk-21-jre-headless) or set JAVA21_HOME`,
  )
}

async function javaMajor(java: string): Promise<number | undefined> {
  try {
    const r = await runCommand(java, ['-version'])
    const m = /version "(\d+)(?:\.(\d+))?/.exec(r.stderr + r.stdout)
    if (!m) return undefined
    return m[1] === '1' ? Number(m[2]) : Number(m[1])
  } catch {
    return undefined
  }
}

/**
 * The unpacked distribution, fetched through Maven (offline first: ~/.m2 already has it after the first run or
 * after .ci/run's fetch) and unpacked once into the cache directory.
 */
export async function apicurioDistribution(
  version = APICURIO_VERSION,
  log: (m: string) => void = () => {},
): Promise<string> {
  const dir = join(cacheDir(), `apicurio-registry-${version}`)
  if (existsSync(join(dir, 'quarkus-run.jar'))) return dir
  const tarball = join(
    homedir(),
    '.m2',
    'repository',
    'io',
    'apicurio',
    'apicurio-registry-app',
    version,
    `apicurio-registry-app-${version}-all.tar.gz`,
  )
  if (!existsSync(tarball)) {
    log(`Downloading Apicurio Registry ${version} from Maven Central (first run only, about 160 MB)...`)
    const args = ['-B', '-q', 'dependency:get', `-Dartifact=${ARTIFACT(version)}`, '-Dtransitive=false']
    const offline = await runCommand('mvn', ['-o', ...args])
    if (offline.code !== 0 || !existsSync(tarball)) {
      const online = await runCommand('mvn', args, { timeoutMs: 600_000 })
      if (online.code !== 0 || !existsSync(tarball)) {
        throw new SchemaRegistryHarnessError(
          `mvn dependency:get ${ARTIFACT(version)} failed (exit ${online.code}): ${(online.stdout + online.stderr).slice(-2000)}`,
        )
      }
    }
  }
  await mkdir(cacheDir(), { recursive: true })
  const staging = await mkdtemp(join(cacheDir(), `apicurio-${version}-`))
  try {
    const r = await runCommand('tar', ['xzf', tarball, '-C', staging], { timeoutMs: 300_000 })
    if (r.code !== 0) throw new SchemaRegistryHarnessError(`cannot unpack ${tarball}: ${r.stderr}`)
    // Two runs unpacking at once: the first rename wins, the other's copy is removed.
    await rename(staging, dir).catch(async () => {
      if (!existsSync(join(dir, 'quarkus-run.jar')))
        throw new SchemaRegistryHarnessError(`cannot move the distribution to ${dir}`)
    })
  } finally {
    await rm(staging, { recursive: true, force: true })
  }
  return dir
}

export interface SchemaRegistryOptions {
  readonly version?: string
  readonly log?: (message: string) => void
  /** Fixed ports (a restart keeps its address); default: free ones. */
  readonly ports?: { readonly http: number; readonly management: number }
}

/** One Apicurio Registry process; stop() and start() again keep the same ports (and lose its in-memory content). */
export class SchemaRegistryProcess {
  private watched: WatchedProcess | undefined
  private logFile = ''

  private constructor(
    private readonly java: string,
    private readonly home: string,
    private readonly workDir: string,
    readonly ports: { readonly http: number; readonly management: number },
    readonly version: string,
  ) {}

  static async create(options: SchemaRegistryOptions = {}): Promise<SchemaRegistryProcess> {
    const version = options.version ?? APICURIO_VERSION
    const [java, home] = await Promise.all([findJava21(), apicurioDistribution(version, options.log)])
    let ports = options.ports
    if (ports === undefined) {
      const [http, management] = await allocatePorts('127.0.0.1', 2)
      ports = { http: http!, management: management! }
    }
    const workDir = await mkdtemp(join(tmpdir(), 'ksc-apicurio-'))
    return new SchemaRegistryProcess(java, home, workDir, ports, version)
  }

  describe(): SchemaRegistryDescription {
    const httpUrl = `http://127.0.0.1:${this.ports.http}`
    return {
      url: `${httpUrl}/apis/ccompat/v7`,
      httpUrl,
      managementUrl: `http://127.0.0.1:${this.ports.management}`,
      version: this.version,
    }
  }

  get running(): boolean {
    return this.watched !== undefined
  }

  async start(): Promise<SchemaRegistryDescription> {
    if (this.watched !== undefined) return this.describe()
    this.logFile = join(this.workDir, `registry-${Date.now()}.log`)
    const fd = openSync(this.logFile, 'a')
    const args = [
      // A small, quick-starting JVM: the registry serves a handful of test schemas.
      '-Xmx384m',
      '-XX:+UseSerialGC',
      '-XX:TieredStopAtLevel=1',
      '-XX:-UsePerfData',
      '-Dquarkus.http.host=127.0.0.1',
      `-Dquarkus.http.port=${this.ports.http}`,
      '-Dquarkus.management.host=127.0.0.1',
      `-Dquarkus.management.port=${this.ports.management}`,
      '-Dquarkus.log.console.json=false',
      '-jar',
      join(this.home, 'quarkus-run.jar'),
    ]
    try {
      this.watched = spawnWatched(this.java, args, { stdio: ['ignore', fd, fd], cwd: this.workDir, graceMs: 5000 })
    } finally {
      closeSync(fd)
    }
    const watched = this.watched
    let exited = false
    void watched.exited.then(() => {
      exited = true
    })
    try {
      await waitFor(
        'Apicurio Registry to be ready',
        async () => {
          if (exited)
            throw new SchemaRegistryHarnessError(`Apicurio Registry exited while starting:\n${await this.logSummary()}`)
          return ready(`${this.describe().managementUrl}/health/ready`)
        },
        { timeoutMs: READY_TIMEOUT_MS, intervalMs: 250 },
      )
    } catch (err) {
      await this.stop()
      if (err instanceof SchemaRegistryHarnessError) throw err
      throw new SchemaRegistryHarnessError(`${(err as Error).message}\n${await this.logSummary()}`)
    }
    return this.describe()
  }

  /** SIGTERM (Quarkus shuts down cleanly), SIGKILL after 10 s; resolves when the process is gone. */
  async stop(): Promise<void> {
    const watched = this.watched
    if (watched === undefined) return
    this.watched = undefined
    await watched.signal('SIGTERM').catch(() => {})
    const killer = setTimeout(() => void watched.signal('SIGKILL').catch(() => {}), 10_000)
    await watched.exited
    clearTimeout(killer)
  }

  async close(): Promise<void> {
    await this.stop()
    await rm(this.workDir, { recursive: true, force: true })
  }

  private async logSummary(): Promise<string> {
    return summarizeLog(await readLogSince(this.logFile).catch(() => ''))
  }
}

async function ready(url: string): Promise<boolean> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(2000) })
    return res.status === 200
  } catch {
    return false
  }
}

/**
 * Whether this test run includes files that need the registry: a run given file filters starts it only when one of
 * them names schema validation (or the registry harness); a run without filters (the whole suite) always does.
 * KSC_TEST_SCHEMA_REGISTRY=1 or 0 overrides.
 */
export function runNeedsSchemaRegistry(
  argv: readonly string[] = process.argv,
  env: NodeJS.ProcessEnv = process.env,
): boolean {
  if (env.KSC_TEST_SCHEMA_REGISTRY === '1') return true
  if (env.KSC_TEST_SCHEMA_REGISTRY === '0') return false
  const i = argv.findIndex((a) => /(^|\/)vitest(\.m?js)?$/.test(a))
  const rest = i < 0 ? [] : argv.slice(i + 1)
  const filters: string[] = []
  for (let j = 0; j < rest.length; j++) {
    const a = rest[j]!
    if (a === 'run' || a === 'watch' || a === 'related') continue
    if (a.startsWith('-')) {
      // Options that take a separate value: skip the value too.
      if (
        !a.includes('=') &&
        /^-(t|-testNamePattern|-project|-config|c|-reporter|-outputFile|-root|r|-dir|-shard|-pool|-maxWorkers)$/.test(a)
      )
        j++
      continue
    }
    filters.push(a)
  }
  if (filters.length === 0) return true
  return filters.some((f) => /schema-validation|schema-registry/.test(f))
}
