import { readdirSync, readFileSync } from 'node:fs'
import http from 'node:http'
import https from 'node:https'
import net from 'node:net'
import type { Argv } from 'yargs'
import { formatHostPort, type HostPort, isWildcardHost, parseHostPort } from '../config/host-port.js'
import { ConfigError, loadConfig } from '../config/index.js'
import type { CliCommand } from './command.js'
import { healthAddressOverride } from './run.js'

/**
 * `kafka-sidecar healthcheck`: one probe of the sidecar (or injector) running beside it, at the address that
 * process was configured with. The container image's HEALTHCHECK runs it, and so does the postStart hook of a
 * sidecar injected as a regular container (`--wait`). The address is found as the running process would find it:
 * its command line (read from /proc: PID 1 in a container), then the environment and the config file.
 *   run, dev        the health listener (--health-port, KAFKA_SIDECAR_HEALTH_PORT, admin.healthPort), else the
 *                   admin endpoint's /healthz, else (admin disabled) a TCP connect to the bootstrap listener
 *   inject-webhook  https://<--listen>/healthz (its certificate is not checked: this is a liveness probe)
 * Exit code 0 healthy, 1 not (one line on stderr says why).
 */

const SERVER_COMMANDS = ['run', 'dev', 'inject-webhook'] as const

export type HealthTarget =
  | { readonly kind: 'http' | 'https'; readonly address: HostPort; readonly path: string }
  | { readonly kind: 'tcp'; readonly address: HostPort }

/**
 * The arguments after `cli.js` of the lowest-numbered process that runs one of the server commands of this CLI,
 * other than `self` (in a container: PID 1). Undefined when there is none (or no /proc).
 */
export function serverCommandLine(procRoot = '/proc', self = process.pid): string[] | undefined {
  let pids: number[]
  try {
    pids = readdirSync(procRoot)
      .filter((d) => /^\d+$/.test(d))
      .map(Number)
      .filter((p) => p !== self)
      .sort((a, b) => a - b)
  } catch {
    return undefined
  }
  for (const pid of pids) {
    let argv: string[]
    try {
      argv = readFileSync(`${procRoot}/${pid}/cmdline`, 'utf8')
        .split('\0')
        .filter((a) => a !== '')
    } catch {
      continue // gone, or not ours to read
    }
    const cli = argv.findIndex((a) => /(^|\/)(cli\.js|kafka-sidecar)$/.test(a))
    if (cli < 0) continue
    const rest = argv.slice(cli + 1)
    const command = rest.find((a) => !a.startsWith('-'))
    if (command !== undefined && (SERVER_COMMANDS as readonly string[]).includes(command)) return rest
  }
  return undefined
}

/** The last value given to `--name` (as `--name value` or `--name=value`). */
export function flagValue(args: readonly string[], name: string): string | undefined {
  let value: string | undefined
  args.forEach((a, i) => {
    if (a === `--${name}` && i + 1 < args.length) value = args[i + 1]
    else if (a.startsWith(`--${name}=`)) value = a.slice(name.length + 3)
  })
  return value
}

/** Where to probe, for a server started with `args` (undefined: as `run` with no flags) and this environment. */
export function healthTarget(args: readonly string[] | undefined, env: NodeJS.ProcessEnv): HealthTarget {
  const a = args ?? ['run']
  const command = a.find((x) => !x.startsWith('-'))
  if (command === 'inject-webhook') {
    const listen = parseHostPort(flagValue(a, 'listen') ?? '0.0.0.0:8443')
    if ('error' in listen) throw new Error(`the injector's --listen is not host:port (${listen.error})`)
    return { kind: 'https', address: reachable(listen), path: '/healthz' }
  }
  const flags: Record<string, unknown> = {}
  for (const name of ['admin', 'listen']) {
    const v = flagValue(a, name)
    if (v !== undefined) flags[name] = v
  }
  const file = flagValue(a, 'config')
  const config = loadConfig({ ...(file !== undefined ? { file } : {}), env, flags, requireUpstream: false })
  const health = healthAddressOverride(config, flagValue(a, 'health-port'), env)
  if (health !== undefined && 'issue' in health) throw new ConfigError([health.issue])
  if (health !== undefined) return { kind: 'http', address: reachable(health), path: '/healthz' }
  if (config.admin.enabled) return { kind: 'http', address: reachable(config.admin), path: '/healthz' }
  return { kind: 'tcp', address: reachable(config.listen) }
}

/** A wildcard bind address is probed on loopback. */
/** Where to connect for a listener bound at `a` (a section such as listen may carry more than host and port). */
function reachable(a: HostPort): HostPort {
  if (!isWildcardHost(a.host)) return { host: a.host, port: a.port }
  return { host: a.host === '0.0.0.0' ? '127.0.0.1' : '::1', port: a.port }
}

/** One probe; resolves with undefined when healthy, else the reason. */
export function probe(target: HealthTarget, timeoutMs = 3000): Promise<string | undefined> {
  const where = formatHostPort(target.address)
  if (target.kind === 'tcp') {
    return new Promise((resolve) => {
      const socket = net.connect({ host: target.address.host, port: target.address.port })
      socket.setTimeout(timeoutMs, () => {
        socket.destroy()
        resolve(`no answer from ${where} within ${timeoutMs} ms`)
      })
      socket.once('connect', () => {
        socket.end()
        resolve(undefined)
      })
      socket.once('error', (err) => resolve(`cannot connect to ${where}: ${err.message}`))
    })
  }
  const url = `${target.kind}://${where}${target.path}`
  return new Promise((resolve) => {
    const get = target.kind === 'https' ? https.get : http.get
    const req = get(url, { timeout: timeoutMs, rejectUnauthorized: false }, (res) => {
      res.resume()
      resolve(res.statusCode === 200 ? undefined : `${url} answered ${res.statusCode}`)
    })
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)))
    req.on('error', (err) => resolve(`${url}: ${err.message}`))
  })
}

export const healthcheckCommand: CliCommand = {
  command: 'healthcheck',
  describe: 'Probe the sidecar or injector running in this container (the image HEALTHCHECK)',
  builder: (y: Argv) =>
    y
      .option('wait', {
        type: 'number',
        requiresArg: true,
        default: 0,
        describe: 'retry for up to this many seconds until healthy (0: one probe)',
      })
      .example('$0 healthcheck', 'exit 0 when the sidecar in this container answers /healthz')
      .epilogue('Exit codes: 0 healthy, 1 not healthy, 2 usage.'),
  handler: async (args: Record<string, unknown>) => {
    let target: HealthTarget
    try {
      target = healthTarget(serverCommandLine(), process.env)
    } catch (err) {
      process.stderr.write(`healthcheck: ${(err as Error).message}\n`)
      process.exitCode = 1
      return
    }
    const deadline = Date.now() + Math.max(0, Number(args.wait ?? 0)) * 1000
    for (;;) {
      const problem = await probe(target)
      if (problem === undefined) {
        process.exitCode = 0
        return
      }
      if (Date.now() >= deadline) {
        process.stderr.write(`healthcheck: not healthy: ${problem}\n`)
        process.exitCode = 1
        return
      }
      await new Promise((r) => setTimeout(r, 500))
    }
  },
}
