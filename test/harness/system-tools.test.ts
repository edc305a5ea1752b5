import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { SystemToolsInstallError, SystemToolsMissingError } from './errors.js'
import { runCommand } from './run-command.js'
import { ensureSystemTools, onPath, planSystemTools, type SystemTool, TEST_SYSTEM_TOOLS } from './system-tools.js'

const KCAT: SystemTool = { command: 'kcat', debianPackage: 'kcat', usedFor: 'a client' }
const PROMTOOL: SystemTool = { command: 'promtool', debianPackage: 'prometheus', usedFor: 'checks /metrics' }
const ROOT_WITH_APT = { isRoot: true, hasAptGet: true, installAllowed: true }

describe('planSystemTools', () => {
  it('does nothing when every tool is there', () => {
    expect(planSystemTools([], { isRoot: false, hasAptGet: false, installAllowed: true })).toEqual({ action: 'none' })
  })

  it('as root with apt-get: installs the Debian packages, announced in one line', () => {
    const plan = planSystemTools([KCAT, PROMTOOL], ROOT_WITH_APT)
    expect(plan.action).toBe('install')
    if (plan.action !== 'install') return
    expect(plan.args).toEqual(['install', '-y', '-qq', '--no-install-recommends', 'kcat', 'prometheus'])
    expect(plan.notice).toBe('installing kcat, promtool for the tests: apt-get install -y kcat prometheus')
    expect(plan.notice).not.toContain('\n')
  })

  it('not root: one message naming the tool and the command that installs it', () => {
    const plan = planSystemTools([KCAT], { isRoot: false, hasAptGet: true, installAllowed: true })
    expect(plan.action).toBe('fail')
    if (plan.action !== 'fail') return
    expect(plan.error).toBeInstanceOf(SystemToolsMissingError)
    expect(plan.error.code).toBe('KSC_ERR_HARNESS_TOOLS_MISSING')
    expect(plan.error.message).toBe(
      'The tests need kcat (a client), which is not installed, and this run does not install it (not root). ' +
        'Install it with `sudo apt-get install -y kcat` (elsewhere, the package that provides kcat), ' +
        'then run npm test again.',
    )
  })

  it('names every missing tool and package in the one message', () => {
    const plan = planSystemTools([KCAT, PROMTOOL], { isRoot: false, hasAptGet: false, installAllowed: true })
    if (plan.action !== 'fail') throw new Error(`expected fail, got ${plan.action}`)
    expect(plan.error.message).toContain('kcat (a client) and promtool (checks /metrics), which are not installed')
    expect(plan.error.message).toContain('`sudo apt-get install -y kcat prometheus`')
  })

  it('root without apt-get, or installs switched off: stops with the command to run by hand', () => {
    const noApt = planSystemTools([PROMTOOL], { isRoot: true, hasAptGet: false, installAllowed: true })
    if (noApt.action !== 'fail') throw new Error(`expected fail, got ${noApt.action}`)
    expect(noApt.error.message).toContain('(no apt-get on this machine)')
    expect(noApt.error.message).toContain('`apt-get install -y prometheus`')
    const off = planSystemTools([PROMTOOL], { ...ROOT_WITH_APT, installAllowed: false })
    if (off.action !== 'fail') throw new Error(`expected fail, got ${off.action}`)
    expect(off.error.message).toContain('(KAFKA_TEST_INSTALL_TOOLS=0)')
  })
})

describe('ensureSystemTools', () => {
  let bin: string
  let calls: string[][]
  const lines: string[] = []
  const log = (line: string) => lines.push(line)

  beforeEach(async () => {
    bin = await mkdtemp(join(tmpdir(), 'ksc-tools-'))
    calls = []
    lines.length = 0
    // ensureSystemTools looks for apt-get on PATH before it plans an install; `run` stands in for running it.
    await writeFile(join(bin, 'apt-get'), '#!/bin/sh\nexit 1\n')
    await chmod(join(bin, 'apt-get'), 0o755)
  })
  afterEach(async () => {
    await rm(bin, { recursive: true, force: true })
  })

  /** A stand-in for apt-get: records its arguments and, when `installs`, puts the tools into `bin`. */
  const fakeApt =
    (installs: (args: readonly string[]) => boolean) =>
    async (command: string, args: readonly string[], env: NodeJS.ProcessEnv) => {
      calls.push([command, ...args])
      expect(env.DEBIAN_FRONTEND).toBe('noninteractive')
      const ok = installs(args)
      if (ok && args.includes('install')) {
        for (const tool of [KCAT, PROMTOOL]) {
          await writeFile(join(bin, tool.command), '#!/bin/sh\n')
          await chmod(join(bin, tool.command), 0o755)
        }
      }
      return {
        code: ok ? 0 : 100,
        signal: null,
        stdout: '',
        stderr: ok ? '' : 'E: Unable to locate package kcat',
        timedOut: false,
      }
    }

  it('finds executables on PATH only', async () => {
    await writeFile(join(bin, 'kcat'), '#!/bin/sh\n')
    expect(onPath('kcat', bin)).toBe(false) // not executable
    await chmod(join(bin, 'kcat'), 0o755)
    expect(onPath('kcat', `/nonexistent:${bin}`)).toBe(true)
    expect(onPath('promtool', bin)).toBe(false)
  })

  it('installs what is missing as root, with one line, and reports what it installed', async () => {
    const installed = await ensureSystemTools({
      tools: [KCAT, PROMTOOL],
      env: { PATH: bin },
      isRoot: true,
      log,
      run: fakeApt(() => true),
    })
    expect(installed.map((t) => t.command)).toEqual(['kcat', 'promtool'])
    expect(lines).toEqual(['installing kcat, promtool for the tests: apt-get install -y kcat prometheus'])
    expect(calls).toEqual([
      [
        'apt-get',
        '-o',
        'DPkg::Lock::Timeout=300',
        'install',
        '-y',
        '-qq',
        '--no-install-recommends',
        'kcat',
        'prometheus',
      ],
    ])
  })

  it('refreshes empty package lists once when the first install cannot find the packages', async () => {
    let first = true
    await ensureSystemTools({
      tools: [KCAT],
      env: { PATH: bin },
      isRoot: true,
      log,
      run: fakeApt((args) => {
        if (args.includes('install') && first) {
          first = false
          return false
        }
        return true
      }),
    })
    expect(calls.map((c) => c.find((a) => a === 'install' || a === 'update'))).toEqual(['install', 'update', 'install'])
  })

  it('fails with apt-get output when installing does not work', async () => {
    const attempt = ensureSystemTools({
      tools: [KCAT],
      env: { PATH: bin },
      isRoot: true,
      log,
      run: fakeApt(() => false),
    })
    await expect(attempt).rejects.toBeInstanceOf(SystemToolsInstallError)
    await expect(attempt).rejects.toThrow(/Unable to locate package kcat/)
  })

  it('not root: stops before running anything', async () => {
    const attempt = ensureSystemTools({
      tools: [KCAT],
      env: { PATH: bin },
      isRoot: false,
      log,
      run: fakeApt(() => true),
    })
    await expect(attempt).rejects.toBeInstanceOf(SystemToolsMissingError)
    expect(calls).toEqual([])
    expect(lines).toEqual([])
  })

  it('does nothing when the tools are there', async () => {
    for (const tool of [KCAT, PROMTOOL]) {
      await writeFile(join(bin, tool.command), '#!/bin/sh\n')
      await chmod(join(bin, tool.command), 0o755)
    }
    expect(
      await ensureSystemTools({ tools: [KCAT, PROMTOOL], env: { PATH: bin }, log, run: fakeApt(() => true) }),
    ).toEqual([])
    expect(calls).toEqual([])
  })
})

describe('the test run, as a user without root starts it', () => {
  it('stops at once with the one message, before any broker starts', async () => {
    // A PATH with node but without kcat or promtool, and installs switched off (the path a non-root user takes).
    const node = process.execPath
    const bin = await mkdtemp(join(tmpdir(), 'ksc-tools-run-'))
    try {
      const script = new URL('../../dist/test/global-setup.js', import.meta.url).pathname
      const result = await runCommand(
        node,
        [
          '--input-type=module',
          '-e',
          `const { default: setup } = await import(${JSON.stringify(script)}); await setup({ provide() {} }); console.log('set up')`,
        ],
        {
          env: { PATH: bin, KAFKA_TEST_INSTALL_TOOLS: '0', KAFKA_TEST_CLUSTERS: 'single' },
          timeoutMs: 30_000,
        },
      )
      expect(result.code).toBe(1)
      expect(result.stdout).toBe('')
      const lines = result.stderr.trim().split('\n')
      expect(lines).toHaveLength(1)
      // PATH holds none of the tools, so all of them are named, with the one command that installs them.
      expect(lines[0]).toMatch(/^\[kafka-harness\] The tests need kcat .*, promtool .*, openssl .* and redis-server /)
      expect(lines[0]).toContain('`apt-get install -y kcat prometheus openssl redis-server`')
      expect(result.stderr).not.toContain('Starting')
    } finally {
      await rm(bin, { recursive: true, force: true })
    }
  })
})

describe('.ci/run', () => {
  it('reports the same system tools before the run as the test run installs', async () => {
    const ci = await readFile(new URL('../../.ci/run', import.meta.url), 'utf8')
    const list = /^TEST_TOOLS=\(([^)]*)\)/m.exec(ci)?.[1]?.trim().split(/\s+/)
    expect(list).toEqual(TEST_SYSTEM_TOOLS.map((tool) => tool.command))
    // npm test's installer is what gets exercised: CI installs none of them itself.
    for (const tool of TEST_SYSTEM_TOOLS)
      expect(ci).not.toMatch(new RegExp(`apt-get[^\\n]*\\b${tool.debianPackage}\\b`))
    expect(ci).toMatch(/^npm test$/m)
  })
})
