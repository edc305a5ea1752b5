import { accessSync, constants } from 'node:fs'
import { delimiter, join } from 'node:path'
import { SystemToolsInstallError, SystemToolsMissingError } from './errors.js'
import { type CommandResult, runCommand } from './run-command.js'

/**
 * System tools the test run needs besides Node, Java and Maven, and how it gets them: the README promises that
 * `npm ci && npm test` passes on a fresh Debian machine with nothing installed by hand, so test/global-setup.ts
 * calls ensureSystemTools() before any broker starts. As root with apt-get (a CI container, a dev container) the
 * missing packages are installed, with one line saying so; otherwise the run stops at once with one message that
 * names each tool and the command that installs it.
 *
 * .ci/run reports which of these were present before the run (its TEST_TOOLS list; a test keeps the two equal).
 */
export interface SystemTool {
  /** The executable looked for on PATH. */
  readonly command: string
  /** The Debian package that provides it. */
  readonly debianPackage: string
  /** Why the tests need it, for the message when it is missing. */
  readonly usedFor: string
}

export const TEST_SYSTEM_TOOLS: readonly SystemTool[] = [
  { command: 'kcat', debianPackage: 'kcat', usedFor: "librdkafka's command-line client, run through the sidecar" },
  { command: 'promtool', debianPackage: 'prometheus', usedFor: "checks the sidecar's /metrics" },
  { command: 'openssl', debianPackage: 'openssl', usedFor: 'test certificates from an issuer other than our own' },
  {
    command: 'redis-server',
    debianPackage: 'redis-server',
    usedFor: "the rate-limit filter's cluster-wide budgets (one server per test run)",
  },
]

/** `KAFKA_TEST_INSTALL_TOOLS=0`: never install, only report what is missing (for a root shell that must not change). */
export const INSTALL_SWITCH = 'KAFKA_TEST_INSTALL_TOOLS'

export interface ToolEnvironment {
  readonly isRoot: boolean
  readonly hasAptGet: boolean
  readonly installAllowed: boolean
}

export type ToolPlan =
  | { readonly action: 'none' }
  | {
      readonly action: 'install'
      readonly missing: readonly SystemTool[]
      /** apt-get's arguments. */
      readonly args: readonly string[]
      /** The one line printed before installing. */
      readonly notice: string
    }
  | { readonly action: 'fail'; readonly missing: readonly SystemTool[]; readonly error: SystemToolsMissingError }

/** What to do about the missing tools: nothing, install them (root with apt-get), or stop with one message. */
export function planSystemTools(missing: readonly SystemTool[], env: ToolEnvironment): ToolPlan {
  if (missing.length === 0) return { action: 'none' }
  const packages = [...new Set(missing.map((tool) => tool.debianPackage))]
  if (env.isRoot && env.hasAptGet && env.installAllowed) {
    return {
      action: 'install',
      missing,
      args: ['install', '-y', '-qq', '--no-install-recommends', ...packages],
      notice: `installing ${names(missing)} for the tests: apt-get install -y ${packages.join(' ')}`,
    }
  }
  const why = !env.installAllowed ? `${INSTALL_SWITCH}=0` : !env.isRoot ? 'not root' : 'no apt-get on this machine'
  const command = `${env.isRoot ? '' : 'sudo '}apt-get install -y ${packages.join(' ')}`
  return { action: 'fail', missing, error: new SystemToolsMissingError(missing, command, why) }
}

export function names(tools: readonly SystemTool[]): string {
  return tools.map((tool) => tool.command).join(', ')
}

/** Whether an executable named `command` is in one of PATH's directories (what the shell would run). */
export function onPath(command: string, path = process.env.PATH ?? ''): boolean {
  for (const dir of path.split(delimiter)) {
    if (dir === '') continue
    try {
      accessSync(join(dir, command), constants.X_OK)
      return true
    } catch {
      // not in this directory
    }
  }
  return false
}

export interface EnsureSystemToolsOptions {
  readonly tools?: readonly SystemTool[]
  readonly env?: NodeJS.ProcessEnv
  readonly isRoot?: boolean
  readonly log: (line: string) => void
  /** Runs apt-get (tests pass a stand-in). */
  readonly run?: (command: string, args: readonly string[], env: NodeJS.ProcessEnv) => Promise<CommandResult>
}

/**
 * Makes sure every tool is on PATH: returns the tools it installed, or throws SystemToolsMissingError (cannot
 * install) or SystemToolsInstallError (apt-get failed). apt-get's own output is shown only when it fails.
 */
export async function ensureSystemTools(options: EnsureSystemToolsOptions): Promise<readonly SystemTool[]> {
  const env = options.env ?? process.env
  const tools = options.tools ?? TEST_SYSTEM_TOOLS
  const missing = tools.filter((tool) => !onPath(tool.command, env.PATH))
  const plan = planSystemTools(missing, {
    isRoot: options.isRoot ?? process.getuid?.() === 0,
    hasAptGet: onPath('apt-get', env.PATH),
    installAllowed: env[INSTALL_SWITCH] !== '0',
  })
  if (plan.action === 'none') return []
  if (plan.action === 'fail') throw plan.error
  options.log(plan.notice)
  const run = options.run ?? ((command, args, runEnv) => runCommand(command, args, { env: runEnv }))
  // Non-interactive, and waiting for a dpkg lock another apt-get holds instead of failing at once.
  const aptEnv = { ...env, DEBIAN_FRONTEND: 'noninteractive' }
  const apt = (args: readonly string[]) => run('apt-get', ['-o', 'DPkg::Lock::Timeout=300', ...args], aptEnv)
  let result = await apt(plan.args)
  if (result.code !== 0) {
    // A fresh image has empty package lists ("Unable to locate package"): refresh them once and try again.
    const update = await apt(['update', '-qq'])
    if (update.code !== 0) throw new SystemToolsInstallError(plan.missing, 'apt-get update', update)
    result = await apt(plan.args)
  }
  const stillMissing = plan.missing.filter((tool) => !onPath(tool.command, env.PATH))
  if (result.code !== 0 || stillMissing.length > 0) {
    throw new SystemToolsInstallError(plan.missing, `apt-get ${plan.args.join(' ')}`, result)
  }
  return plan.missing
}
