import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs'
import http from 'node:http'
import { builtinModules } from 'node:module'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { dirname, join, normalize, relative } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DEFAULTS } from '../../src/config/schema.js'
import { INJECTOR_DEFAULTS } from '../../src/inject/injector-config.js'
import { allocatePorts, freePortRange } from '../harness/free-port.js'
import { runCommand } from '../harness/run-command.js'
import { onPath } from '../harness/system-tools.js'
import { waitFor } from '../harness/wait-for.js'

/**
 * The container image, checked without a Docker engine: the Dockerfile is read as Docker would read it, the files
 * its final stage copies are taken from what `npm pack` would publish (the same dist/ the build stage compiles),
 * and the image's /app is put together in a temporary directory: package.json, those files and the runtime
 * dependencies only. There the ENTRYPOINT and CMD run as the image would run them, as user 1000 and as PID 1 of a
 * PID namespace of its own (unshare, as root), with the Dockerfile's environment; SIGTERM must drain and exit 0.
 * What this cannot check (the base image, `npm ci` inside it, the layers) is listed in README, Container image.
 */

const REPO = new URL('../../', import.meta.url).pathname
const read = (path: string) => readFileSync(join(REPO, path), 'utf8')

interface Instruction {
  readonly op: string
  readonly args: string
}

interface Stage {
  readonly from: string
  readonly name: string | undefined
  readonly instructions: Instruction[]
}

/** Dockerfile instructions per stage: comments dropped, `\` continuations joined, keywords upper-cased. */
function parseDockerfile(text: string): Stage[] {
  const stages: Stage[] = []
  const logical = text
    .replace(/\\\r?\n/g, ' ')
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'))
  for (const line of logical) {
    const [op, ...rest] = line.split(/\s+/)
    const args = rest.join(' ')
    if (op!.toUpperCase() === 'FROM') {
      const m = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args)
      stages.push({ from: m![1]!, name: m![2], instructions: [] })
    } else if (stages.length > 0) stages.at(-1)!.instructions.push({ op: op!.toUpperCase(), args })
  }
  return stages
}

/** A JSON-array (exec form) argument, as ENTRYPOINT, CMD and HEALTHCHECK CMD take it. */
const execForm = (args: string): string[] => JSON.parse(args.replace(/^CMD\s+/, '').replace(/^(--\S+\s+)*CMD\s+/, ''))

interface Copy {
  readonly from: string | undefined
  readonly sources: string[]
  readonly destination: string
}

function copies(stage: Stage): Copy[] {
  return stage.instructions
    .filter((i) => i.op === 'COPY')
    .map((i) => {
      const words = i.args.split(/\s+/)
      const from = words.find((w) => w.startsWith('--from='))?.slice('--from='.length)
      const paths = words.filter((w) => !w.startsWith('--'))
      return { from, sources: paths.slice(0, -1), destination: paths.at(-1)! }
    })
}

/** Relative module specifiers of an ES module: static imports and re-exports, and string-literal dynamic imports. */
function specifiers(source: string): { static: string[]; dynamic: string[] } {
  const stat = [...source.matchAll(/^\s*(?:import|export)\s[^;]*?\sfrom\s+['"]([^'"]+)['"]/gm)].map((m) => m[1]!)
  const bare = [...source.matchAll(/^\s*import\s+['"]([^'"]+)['"]/gm)].map((m) => m[1]!)
  const dynamic = [...source.matchAll(/\bimport\(\s*['"]([^'"]+)['"]\s*\)/g)].map((m) => m[1]!)
  return { static: [...stat, ...bare], dynamic }
}

function packageName(spec: string): string {
  const parts = spec.split('/')
  return spec.startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0]!
}

const stages = parseDockerfile(read('Dockerfile'))
const final = stages.at(-1)!
const finalCopies = copies(final)
const instruction = (op: string) => final.instructions.filter((i) => i.op === op)

describe('the Dockerfile', () => {
  it('has a build stage, a runtime-dependencies stage and a final stage that takes only what runs', () => {
    expect(stages.map((s) => s.name)).toEqual(['build', 'runtime-deps', undefined])
    const deps = stages[1]!.instructions.filter((i) => i.op === 'RUN').map((i) => i.args)
    expect(deps.some((r) => /npm ci\b.*--omit=dev/.test(r))).toBe(true)
    expect(finalCopies).toEqual([
      { from: 'runtime-deps', sources: ['/src/node_modules'], destination: './node_modules' },
      { from: undefined, sources: ['package.json'], destination: './' },
      { from: 'build', sources: ['/src/dist/codec'], destination: './dist/codec' },
      { from: 'build', sources: ['/src/dist/src'], destination: './dist/src' },
      { from: 'build', sources: ['/src/dist/filters'], destination: './dist/filters' },
    ])
    // Nothing is installed or compiled in the final stage.
    expect(instruction('RUN')).toEqual([])
  })

  it('runs as a numeric non-root user, with the malloc setting and the ports documented', () => {
    const [user] = instruction('USER')
    expect(user!.args).toMatch(/^[1-9]\d*:\d+$/) // numeric: the kubelet can check runAsNonRoot against it
    expect(user!.args.split(':')[0]).toBe(String(INJECTOR_DEFAULTS.sidecar.runAsUser))
    expect(instruction('ENV').map((e) => e.args)).toContain('MALLOC_MMAP_THRESHOLD_=131072')
    const exposed = instruction('EXPOSE').flatMap((e) => e.args.split(/\s+/))
    const covers = (port: number) =>
      exposed.some((e) => {
        const [lo, hi] = e.split('-').map(Number) as [number, number | undefined]
        return hi === undefined ? lo === port : port >= lo && port <= hi
      })
    for (const port of [
      DEFAULTS.listen.port,
      DEFAULTS.brokers.portBase,
      DEFAULTS.brokers.portBase + 3, // node id 3
      DEFAULTS.admin.port,
      INJECTOR_DEFAULTS.sidecar.healthPort,
      8443,
    ]) {
      expect(covers(port), `port ${port}`).toBe(true)
    }
    const [health] = instruction('HEALTHCHECK')
    expect(execForm(health!.args.slice(health!.args.indexOf('CMD')))).toEqual([
      'node',
      'dist/src/cli.js',
      'healthcheck',
    ])
    expect(execForm(instruction('CMD')[0]!.args)).toEqual(['run'])
    expect(instruction('STOPSIGNAL')[0]?.args).toBe('SIGTERM')
  })

  it('.dockerignore keeps build output, installs and test results out, and everything the build copies in', () => {
    const patterns = read('.dockerignore')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l !== '' && !l.startsWith('#'))
    const ignored = (path: string) =>
      patterns.some((p) => {
        const re = new RegExp(
          `^${p
            .replace(/[.+^${}()|[\]\\]/g, '\\$&')
            .replace(/\*\*\//g, '(.*/)?')
            .replace(/\*/g, '[^/]*')}(/.*)?$`,
        )
        return re.test(path)
      })
    for (const out of [
      'node_modules',
      'node_modules/pino/package.json',
      'dist/src/cli.js',
      '.vitest-results.json',
      'coverage',
      'bench/results/x.json',
      'npm-debug.log',
      '.git/HEAD',
    ]) {
      expect(ignored(out), out).toBe(true)
    }
    const built = stages.flatMap((s) =>
      copies(s)
        .filter((c) => c.from === undefined)
        .flatMap((c) => c.sources),
    )
    expect(built).toContain('src')
    for (const source of built) {
      expect(ignored(source), source).toBe(false)
      expect(existsSync(join(REPO, source)), source).toBe(true)
    }
  })
})

describe('the image contents, from npm pack', () => {
  let packed: string[]
  let image: Set<string>

  beforeAll(async () => {
    expect(existsSync(join(REPO, 'dist/src/cli.js')), 'npm run build first (npm test does)').toBe(true)
    const r = await runCommand('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: REPO })
    expect(r.code, r.stderr).toBe(0)
    packed = (JSON.parse(r.stdout) as { files: { path: string }[] }[])[0]!.files.map((f) => f.path)
    const fromBuild = finalCopies.filter((c) => c.from === 'build').flatMap((c) => c.sources)
    const dirs = fromBuild.map((s) => `${s.replace(/^\/src\//, '')}/`)
    image = new Set(packed.filter((p) => p === 'package.json' || dirs.some((d) => p.startsWith(d))))
  }, 120_000)

  it('every directory the image copies is part of the npm package, and the harness and benchmarks are not in the image', () => {
    for (const dir of ['dist/codec/', 'dist/src/', 'dist/filters/']) {
      expect(
        packed.some((p) => p.startsWith(dir)),
        dir,
      ).toBe(true)
    }
    for (const f of [
      'dist/src/cli.js',
      'dist/src/commands/inject-webhook.js',
      'dist/src/commands/healthcheck.js',
      'package.json',
    ]) {
      expect(image.has(f), f).toBe(true)
    }
    expect([...image].filter((p) => p.startsWith('dist/test/') || p.startsWith('dist/bench/'))).toEqual([])
    expect(packed.some((p) => p.startsWith('dist/test/harness/'))).toBe(true) // npm users keep `dev`'s embedded Kafka
  })

  it('everything the CLI imports is in the image; its packages are runtime dependencies', () => {
    const pkg = JSON.parse(read('package.json')) as { dependencies: Record<string, string> }
    const missing: string[] = []
    const outside: string[] = []
    const packages = new Set<string>()
    const seen = new Set<string>()
    const queue = ['dist/src/cli.js']
    while (queue.length > 0) {
      const file = queue.pop()!
      if (seen.has(file)) continue
      seen.add(file)
      if (!image.has(file)) {
        missing.push(file)
        continue
      }
      const { static: imports, dynamic } = specifiers(readFileSync(join(REPO, file), 'utf8'))
      for (const spec of [...imports, ...dynamic]) {
        if (spec.startsWith('.')) {
          const target = normalize(join(dirname(file), spec))
          // dev's embedded Kafka: loaded only when dev has no upstream, and refused at once in the image.
          if (dynamic.includes(spec) && target.startsWith('dist/test/')) outside.push(`${file} -> ${target}`)
          else queue.push(target)
        } else if (!spec.startsWith('node:') && !builtinModules.includes(spec)) packages.add(packageName(spec))
      }
    }
    expect(seen.size).toBeGreaterThan(100)
    expect(missing).toEqual([])
    expect(outside).toEqual(['dist/src/commands/dev.js -> dist/test/harness/kafka-cluster.js'])
    expect([...packages].filter((p) => !(p in pkg.dependencies))).toEqual([])
  })
})

/** `npm ls --omit=dev`: the runtime dependency tree, as the runtime-deps stage installs it. */
async function runtimeDependencyDirs(): Promise<string[]> {
  const r = await runCommand('npm', ['ls', '--omit=dev', '--all', '--parseable'], { cwd: REPO })
  const dirs = r.stdout
    .split('\n')
    .map((l) => relative(REPO, l.trim()))
    .filter((l) => l.startsWith('node_modules/'))
    .sort()
  // Nested ones are copied with their parent.
  return dirs.filter((d, i) => !dirs.slice(0, i).some((p) => d.startsWith(`${p}/`)))
}

const asRoot = process.getuid?.() === 0 && onPath('unshare') && onPath('setpriv') && onPath('nsenter')
if (!asRoot) {
  process.stderr.write(
    'image entrypoint test: not root (or no unshare/setpriv/nsenter): running it as this user, not as PID 1 of user 1000\n',
  )
}

describe('the image entrypoint, run from the packed files', () => {
  const root = mkdtempSync(join(tmpdir(), 'ksc-image-'))
  const app = join(root, 'app')
  let entrypoint: string[]
  let env: NodeJS.ProcessEnv
  let ports: { listen: number; admin: number; health: number; upstream: number; brokers: number }
  let child: ChildProcess
  const output: string[] = []

  /** Runs a command line in the image's /app: as user 1000 in a PID namespace of its own when root. */
  function start(argv: string[], extraEnv: NodeJS.ProcessEnv = {}): ChildProcess {
    const [command, ...args] = asRoot
      ? [
          'unshare',
          '--pid',
          '--fork',
          '--mount-proc',
          'setpriv',
          '--reuid=1000',
          '--regid=1000',
          '--clear-groups',
          ...argv,
        ]
      : argv
    return spawn(command!, args, { cwd: app, env: { ...env, ...extraEnv }, stdio: ['ignore', 'pipe', 'pipe'] })
  }

  beforeAll(async () => {
    const r = await runCommand('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: REPO })
    const packed = (JSON.parse(r.stdout) as { files: { path: string }[] }[])[0]!.files.map((f) => f.path)
    const dirs = ['dist/codec/', 'dist/src/', 'dist/filters/']
    for (const file of packed.filter((p) => p === 'package.json' || dirs.some((d) => p.startsWith(d)))) {
      mkdirSync(dirname(join(app, file)), { recursive: true })
      cpSync(join(REPO, file), join(app, file))
    }
    for (const dir of await runtimeDependencyDirs()) cpSync(join(REPO, dir), join(app, dir), { recursive: true })
    chmodTree(root)
    entrypoint = [...execForm(instruction('ENTRYPOINT')[0]!.args), ...execForm(instruction('CMD')[0]!.args)]
    const [listen, admin, health, upstream] = (await allocatePorts('127.0.0.1', 4)) as [number, number, number, number]
    ports = { listen, admin, health, upstream, brokers: await freePortRange(4) }
    const dockerEnv = Object.fromEntries(instruction('ENV').map((e) => e.args.split('=', 2) as [string, string]))
    env = {
      PATH: `${dirname(process.execPath)}:/usr/bin:/bin`,
      ...dockerEnv,
      // How the injector configures the sidecar: environment variables, no flags (the CMD stays `run`).
      KAFKA_SIDECAR_UPSTREAM: `127.0.0.1:${upstream}`, // nothing listens there: not ready, but running
      KAFKA_SIDECAR_LISTEN: `127.0.0.1:${listen}`,
      KAFKA_SIDECAR_ADMIN: `127.0.0.1:${admin}`,
      KAFKA_SIDECAR_HEALTH_PORT: String(health),
      KAFKA_SIDECAR_BROKER_PORT_BASE: String(ports.brokers),
    }
  }, 180_000)

  afterAll(async () => {
    if (child !== undefined && child.exitCode === null) {
      child.kill('SIGKILL')
      await once(child, 'exit')
    }
  })

  it('starts `run` as the image would, answers probes on the health port, and healthcheck follows the configuration', async () => {
    expect(entrypoint).toEqual(['node', '--single-threaded-gc', '--max-semi-space-size=2', 'dist/src/cli.js', 'run'])
    // Only what the image has: package.json, dist/{codec,src,filters} and the runtime dependencies.
    expect(readdirSync(app).sort()).toEqual(['dist', 'node_modules', 'package.json'])
    expect(readdirSync(join(app, 'dist')).sort()).toEqual(['codec', 'filters', 'src'])
    expect(existsSync(join(app, 'node_modules/vitest'))).toBe(false)
    child = start(entrypoint)
    child.stdout!.setEncoding('utf8').on('data', (d: string) => output.push(d))
    child.stderr!.setEncoding('utf8').on('data', (d: string) => output.push(d))
    const healthz = await waitFor('the health listener', () => httpGet(ports.health, '/healthz'), { timeoutMs: 60_000 })
    expect(healthz.status).toBe(200)
    expect(output.join('')).not.toContain('was started without') // the Node flags are there
    // The health port answers readiness without the reason (broker addresses stay off the network side)...
    const ready = await httpGet(ports.health, '/readyz')
    expect(ready).toEqual({ status: 503, body: '{"status":"not ready"}\n' })
    expect((await httpGet(ports.health, '/stats')).status).toBe(404)
    // ...the admin endpoint, on loopback, with it.
    const adminReady = await httpGet(ports.admin, '/readyz')
    expect(adminReady.status).toBe(503)
    expect(adminReady.body).toContain('no upstream broker reachable')

    // HEALTHCHECK: run beside the server (in its PID namespace, as docker exec would), from its configuration.
    const pid = serverPid(child)
    const check = (extra: NodeJS.ProcessEnv) => {
      const argv = ['node', 'dist/src/cli.js', 'healthcheck']
      const cmd = asRoot
        ? [
            'nsenter',
            `--target=${pid}`,
            '--pid',
            '--mount',
            `--wd=${app}`,
            '--',
            'setpriv',
            '--reuid=1000',
            '--regid=1000',
            '--clear-groups',
            ...argv,
          ]
        : argv
      return runCommand(cmd[0]!, cmd.slice(1), { cwd: app, env: { ...env, ...extra }, timeoutMs: 30_000 })
    }
    const ok = await check({})
    expect(ok.code, ok.stderr + ok.stdout).toBe(0)
    expect((await check({ KAFKA_SIDECAR_HEALTH_PORT: '' })).code).toBe(0) // then the admin endpoint
    const wrong = await check({ KAFKA_SIDECAR_HEALTH_PORT: '', KAFKA_SIDECAR_ADMIN: `127.0.0.1:${ports.upstream}` })
    expect(wrong.code).toBe(1)
    expect(wrong.stderr).toContain(`healthcheck: not healthy: http://127.0.0.1:${ports.upstream}/healthz`)
  })

  it.runIf(asRoot)('is PID 1 and user 1000 there', () => {
    const pid = serverPid(child)
    const status = readFileSync(`/proc/${pid}/status`, 'utf8')
    expect(status).toMatch(/^Uid:\s+1000\s+1000\s+1000\s+1000$/m)
    expect(status).toMatch(/^NSpid:\s+\d+\s+1$/m) // PID 1 in its own namespace
  })

  it('SIGTERM to PID 1 drains and exits 0, closing client connections', async () => {
    const client = net.connect({ host: '127.0.0.1', port: ports.listen })
    await once(client, 'connect')
    const closed = once(client, 'close')
    process.kill(serverPid(child), 'SIGTERM')
    const [code] = await once(child, 'exit')
    expect(code).toBe(0)
    await closed
    expect(output.join('')).toContain('shutting down: no new connections, draining in-flight requests')
  })

  it('dev without an upstream says at once that it needs the source checkout', async () => {
    const dev = start(entrypoint.slice(0, -1).concat('dev'), { KAFKA_SIDECAR_UPSTREAM: '' })
    let text = ''
    dev.stdout!.setEncoding('utf8').on('data', (d: string) => (text += d))
    dev.stderr!.setEncoding('utf8').on('data', (d: string) => (text += d))
    const [code] = await once(dev, 'exit')
    expect(code).toBe(1)
    expect(text).toContain('KSC_ERR_DEV_NO_EMBEDDED_KAFKA')
    expect(text).toContain('source checkout')
    expect(text).not.toContain('starting an embedded Kafka')
  })
})

/** The sidecar's host PID: the child of `unshare --fork` (which is PID 1 inside), or the child itself. */
function serverPid(child: ChildProcess): number {
  if (!asRoot) return child.pid!
  const children = readFileSync(`/proc/${child.pid}/task/${child.pid}/children`, 'utf8').trim().split(/\s+/)
  return Number(children[0])
}

function httpGet(port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path, timeout: 5000 }, (res) => {
        let body = ''
        res.setEncoding('utf8').on('data', (d: string) => (body += d))
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }))
      })
      .on('error', reject)
  })
}

/** World-readable (and directories searchable), as files in an image are to its user. */
function chmodTree(dir: string): void {
  chmodSync(dir, 0o755)
  for (const entry of readdirSync(dir)) {
    const path = join(dir, entry)
    const s = statSync(path)
    if (s.isDirectory()) chmodTree(path)
    else chmodSync(path, s.mode | 0o444)
  }
}
