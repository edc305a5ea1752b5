import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { describe, expect, it } from 'vitest'

/**
 * Every command-line mistake, as a user types it against the built CLI: one line on stderr naming the problem and
 * the fix, exit code 2, nothing on stdout, no stack trace, and nothing started (no Kafka for `dev`, no connection
 * for `top`).
 */

const CLI = new URL('../../dist/src/cli.js', import.meta.url).pathname
const COMMANDS = ['run', 'dev', 'top', 'decode', 'validate-config', 'certs', 'inject-webhook', 'healthcheck']

function cli(args: string[]) {
  // `npm test` builds dist/ first (pretest); building here too would rewrite files other test files are running.
  expect(existsSync(CLI), 'run npm run build (npm test does it) before this test').toBe(true)
  // A generous timeout: if a mistake slipped through, `dev` would start a Kafka and `top` would poll for ever.
  const r = spawnSync(process.execPath, [CLI, ...args], {
    encoding: 'utf8',
    timeout: 30_000,
    env: { ...process.env, KAFKA_SIDECAR_CONFIG: '', KAFKA_SIDECAR_UPSTREAM: '' },
  })
  return { status: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr }
}

/** One usage line, exit 2, and the line says `expected` and where the help is. */
function expectUsageLine(args: string[], expected: string, command: string | null = args[0]!) {
  const r = cli(args)
  expect(r.signal, `${args.join(' ')} was still running`).toBeNull()
  expect(r.stderr).not.toMatch(/\n\s+at /) // a stack frame
  expect(r.stderr.split('\n').filter((l) => l !== '')).toHaveLength(1)
  const help = command === null ? 'kafka-sidecar --help' : `kafka-sidecar ${command} --help`
  expect(r.stderr).toBe(`error KSC_ERR_CLI_USAGE: ${expected} (see ${help})\n`)
  expect(r.stdout).toBe('')
  expect(r.status, r.stderr).toBe(2)
}

describe('kafka-sidecar: a flag that needs a value always needs it', () => {
  const cases: [string[], string][] = [
    [['run', '--upstream'], '--upstream needs a value: --upstream host:port,...'],
    [['run', '--config'], '--config needs a value: --config FILE'],
    [['run', '--listen'], '--listen needs a value: --listen host:port'],
    [['run', '--log-level'], '--log-level needs a value: --log-level trace|debug|info|warn|error|fatal|silent'],
    [['run', '--upstream', '--listen', '127.0.0.1:9092'], '--upstream needs a value: --upstream host:port,...'],
    [['run', '--config='], '--config needs a value: --config FILE'],
    [['certs', 'init', '--dir'], '--dir needs a value: --dir DIR'],
    [['certs', 'init', '--client'], '--client needs a value: --client NAME[:spiffe://trust-domain/path]'],
    [['certs', 'init', '--days'], '--days needs a value: --days DAYS'],
    [['decode', '--response', '--api-key'], '--api-key needs a value: --api-key KEY'],
    [
      ['decode', '--response', '--api-key', 'Fetch', '--api-version'],
      '--api-version needs a value: --api-version VERSION',
    ],
    [['dev', '--nodes'], '--nodes needs a value: --nodes N'],
    [['dev', '--kafka-version'], '--kafka-version needs a value: --kafka-version VERSION'],
    [['top', '--admin'], '--admin needs a value: --admin host:port'],
    [['top', '--interval'], '--interval needs a value: --interval MILLISECONDS'],
    [['top', '--sort'], '--sort needs a value: --sort bytes|requests|lag'],
    [['validate-config', 'x.yaml', '--upstream'], '--upstream needs a value: --upstream host:port,...'],
  ]
  for (const [args, expected] of cases) {
    it(args.join(' '), () => expectUsageLine(args, expected))
  }
})

describe('kafka-sidecar: values that are not what the flag takes', () => {
  const cases: [string[], string][] = [
    [['run', '--log-level', 'loud'], '--log-level "loud" is not one of trace, debug, info, warn, error, fatal, silent'],
    [['dev', '--nodes', 'three'], '--nodes "three" is not a number: --nodes N'],
    [['dev', '--nodes', '0'], '--nodes 0 is not a number of brokers: --nodes 1-9'],
    [['top', '--interval', 'fast'], '--interval "fast" is not a number: --interval MILLISECONDS'],
    [['top', '--interval', '10'], '--interval 10 is too short: at least --interval 100 (milliseconds)'],
    [['top', '--sort', 'lagg'], '--sort "lagg" is not one of bytes, requests, lag (did you mean lag?)'],
    [
      ['top', '--admin', 'localhost', '--once'],
      '--admin "localhost" is not host:port (the port is missing (expected host:port))',
    ],
    [['certs', 'init', '--days', 'soon'], '--days "soon" is not a number: --days DAYS'],
    [['certs', 'renew'], 'certs action "renew" is not one of init'],
    [['certs'], 'certs needs an action: kafka-sidecar certs init'],
    [['decode', '--request', '--response'], '--request and --response exclude each other: pass one'],
  ]
  for (const [args, expected] of cases) {
    it(args.join(' '), () => expectUsageLine(args, expected))
  }
})

describe('kafka-sidecar: unknown commands, flags and arguments', () => {
  it('names an unknown flag, with the nearest known one', () => {
    expectUsageLine(['run', '--upstrem', 'b:9092'], 'unknown option --upstrem for run (did you mean --upstream?)')
    expectUsageLine(['run', '--bogus'], 'unknown option --bogus for run')
    expectUsageLine(['dev', '--node', '3'], 'unknown option --node for dev (did you mean --nodes?)')
    expectUsageLine(['decode', '--request', '--no-such-flag'], 'unknown option --no-such-flag for decode')
    expectUsageLine(['top', '--bogus-flag=1'], 'unknown option --bogus-flag for top')
  })

  it('names an argument a command does not take', () => {
    expectUsageLine(
      ['run', 'extra'],
      'unexpected argument "extra": run takes no other arguments (options start with --)',
    )
    expectUsageLine(
      ['validate-config', 'a.yaml', 'b.yaml'],
      'unexpected argument "b.yaml": validate-config takes one config file (options start with --)',
    )
  })

  it('names an unknown command and lists the commands', () => {
    const list = COMMANDS.join(', ')
    expectUsageLine(['rn'], `unknown command "rn" (did you mean run?): the commands are ${list}`, null)
    expectUsageLine(
      ['decodee', '--request'],
      `unknown command "decodee" (did you mean decode?): the commands are ${list}`,
      null,
    )
    expectUsageLine(['frobnicate'], `unknown command "frobnicate": the commands are ${list}`, null)
  })
})

describe('kafka-sidecar with no command', () => {
  for (const args of [[], ['--bogus']]) {
    it(`prints the usage and the command list, then one error line (${args.join(' ') || 'no arguments'})`, () => {
      const r = cli(args)
      expect(r.status).toBe(2)
      expect(r.stdout).toBe('')
      expect(r.stderr).toContain('kafka-sidecar <command> [options]')
      expect(r.stderr).toContain('Commands:')
      for (const c of COMMANDS) expect(r.stderr).toMatch(new RegExp(`^  kafka-sidecar ${c}\\b`, 'm'))
      const lines = r.stderr.trimEnd().split('\n')
      expect(lines.at(-1)).toBe(
        `error KSC_ERR_CLI_USAGE: no command given: kafka-sidecar <command> [options], <command> being one of ${COMMANDS.join(', ')} (see kafka-sidecar --help)`,
      )
      expect(r.stderr).not.toMatch(/\n\s+at /)
    })
  }
})

describe('kafka-sidecar: flags given twice', () => {
  it('keeps the last value of a single-value flag instead of failing with a stack trace', () => {
    const r = cli(['run', '--config', '/nonexistent/a.yaml', '--config', '/nonexistent/b.yaml'])
    expect(r.stderr).not.toMatch(/\n\s+at /)
    expect(r.stderr).toContain('cannot read config file "/nonexistent/b.yaml" (ENOENT)')
    expect(r.status).toBe(1)
  })
})
