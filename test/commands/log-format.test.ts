import { spawn, spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { createServer, type Server } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { freePortRange } from '../harness/free-port.js'

/**
 * log.format as a user meets it: `run` writes JSON lines unless told `--log-format pretty` (or
 * KAFKA_SIDECAR_LOG_FORMAT, or log.format in the file); `dev` writes readable lines when stdout is a terminal and JSON
 * otherwise. The sidecar is started with its admin port taken, so it logs its first lines (a listener, then the
 * fatal start failure) and exits by itself; no broker is needed.
 */

const CLI = new URL('../../dist/src/cli.js', import.meta.url).pathname
/** `[HH:MM:ss.mmm] LEVEL: message`, pino-pretty's line, without colours. */
const PRETTY = /^\[\d\d:\d\d:\d\d\.\d{3}\] (INFO|WARN|FATAL): \S/
const HAS_SCRIPT = spawnSync('script', ['--version']).status === 0

let taken: Server
let takenPort: number
let base: number

beforeAll(async () => {
  expect(existsSync(CLI), 'run npm run build (npm test does it) before this test').toBe(true)
  taken = createServer()
  await new Promise<void>((resolve) => taken.listen({ host: '127.0.0.1', port: 0 }, resolve))
  takenPort = (taken.address() as { port: number }).port
  base = await freePortRange(10)
})
afterAll(() => new Promise<void>((resolve) => taken.close(() => resolve())))

function args(command: 'run' | 'dev', extra: string[] = []): string[] {
  return [
    CLI,
    command,
    '--upstream',
    '127.0.0.1:1',
    '--listen',
    `127.0.0.1:${base}`,
    '--broker-port-base',
    String(base),
    '--admin',
    `127.0.0.1:${takenPort}`,
    ...extra,
  ]
}

/** Runs the CLI with stdout a pipe; resolves with its stdout lines once it has exited. */
function piped(argv: string[], env: Record<string, string> = {}): Promise<{ code: number | null; lines: string[] }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, argv, {
      stdio: ['ignore', 'pipe', 'ignore'],
      env: { ...process.env, KAFKA_SIDECAR_CONFIG: '', KAFKA_SIDECAR_LOG_FORMAT: '', ...env },
    })
    let out = ''
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString()
    })
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000)
    child.on('close', (code) => {
      clearTimeout(timer)
      resolve({ code, lines: out.split('\n').filter((l) => l.trim() !== '') })
    })
  })
}

/** Runs the CLI with stdout a terminal (a pseudo-terminal from util-linux script(1)). */
function onTerminal(argv: string[]): { code: number | null; lines: string[] } {
  const command = [process.execPath, ...argv].map((a) => `'${a}'`).join(' ')
  const r = spawnSync('script', ['-qec', command, '/dev/null'], {
    encoding: 'utf8',
    timeout: 30_000,
    env: { ...process.env, KAFKA_SIDECAR_CONFIG: '', KAFKA_SIDECAR_LOG_FORMAT: '' },
  })
  return { code: r.status, lines: r.stdout.split(/\r?\n/).filter((l) => l.trim() !== '') }
}

const stripColours = (s: string) => s.replace(/\x1b\[[0-9;]*m/g, '')
const jsonLines = (lines: string[]) => lines.filter((l) => l.startsWith('{')).map((l) => JSON.parse(l))

describe('run: log format', () => {
  it('writes JSON lines by default', async () => {
    const { code, lines } = await piped(args('run'))
    expect(code).toBe(1)
    expect(lines.length).toBeGreaterThan(0)
    for (const line of lines) expect(() => JSON.parse(line), line).not.toThrow()
    expect(jsonLines(lines).at(-1)).toMatchObject({ level: 'fatal', msg: 'cannot start', code: 'KSC_ERR_LISTEN' })
  })

  it('writes readable lines with --log-format pretty, and with KAFKA_SIDECAR_LOG_FORMAT=pretty', async () => {
    for (const run of [
      await piped(args('run', ['--log-format', 'pretty'])),
      await piped(args('run'), { KAFKA_SIDECAR_LOG_FORMAT: 'pretty' }),
    ]) {
      expect(run.code).toBe(1)
      const entries = run.lines.filter((l) => !l.startsWith(' ')) // continuation lines (an err field) are indented
      expect(entries.length).toBeGreaterThan(0)
      for (const line of entries) expect(line).toMatch(PRETTY)
      expect(run.lines.join('\n')).not.toContain('\x1b[') // no colours into a pipe
      expect(run.lines.some((l) => /\] INFO: listening \{"listener":"bootstrap"/.test(l))).toBe(true)
      expect(run.lines.some((l) => /\] FATAL: cannot start \{"code":"KSC_ERR_LISTEN"\}/.test(l))).toBe(true)
    }
  })
})

describe.skipIf(!HAS_SCRIPT)('dev: log format follows the terminal', () => {
  it('is pretty, in colour, when stdout is a terminal', () => {
    const { code, lines } = onTerminal(args('dev'))
    expect(code).toBe(1)
    expect(lines.join('\n')).toContain('\x1b[') // colours on a terminal
    const entries = lines.map(stripColours).filter((l) => l.startsWith('['))
    expect(entries.length).toBeGreaterThan(0)
    for (const line of entries) expect(line).toMatch(PRETTY)
    expect(lines.some((l) => l.startsWith('{'))).toBe(false)
  })

  it('is JSON when stdout is not a terminal, and when the terminal user asks for JSON', async () => {
    const piping = await piped(args('dev'))
    expect(piping.code).toBe(1)
    for (const line of piping.lines) expect(() => JSON.parse(line), line).not.toThrow()
    const asked = onTerminal(args('dev', ['--log-format', 'json']))
    expect(asked.code).toBe(1)
    expect(jsonLines(asked.lines).at(-1)).toMatchObject({ level: 'fatal', msg: 'cannot start' })
  })
})
