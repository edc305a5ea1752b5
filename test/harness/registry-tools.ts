import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs'
import { homedir } from 'node:os'
import { join } from 'node:path'
import { HarnessError } from './errors.js'
import { runCommand } from './run-command.js'
import { onPath } from './system-tools.js'

/**
 * Tools the Kubernetes tests take from package registries rather than Debian (system-tools.ts has those): helm and
 * the API server's own JSON-patch library from the Go module proxy (`go install`), and the Kubernetes JSON schemas
 * from PyPI (kubernetes-validate, whose wheel carries the schemas of every release it supports, so validating needs
 * no network). The test run installs each once into a cache directory that later runs reuse; a machine without Go
 * (or Python) skips the tests that need it, with one line saying so.
 *
 * Installs go to a temporary name first and are renamed into place, so two test files installing the same tool at
 * once both end up with a complete one.
 */

export interface GoTool {
  readonly command: string
  /** The main package, as `go install` takes it. */
  readonly pkg: string
  readonly version: string
  readonly usedFor: string
}

export const HELM: GoTool = {
  command: 'helm',
  pkg: 'helm.sh/helm/v4/cmd/helm',
  version: 'v4.3.2',
  usedFor: 'lints and renders the chart helm/kafka-sidecar',
}

/**
 * The JSON-patch implementation the API server applies admission patches with (k8s.io/apiserver
 * pkg/admission/plugin/webhook/mutating/dispatcher.go imports gopkg.in/evanphx/json-patch.v4), as its command.
 */
export const JSON_PATCH: GoTool = {
  command: 'json-patch',
  pkg: 'gopkg.in/evanphx/json-patch.v4/cmd/json-patch',
  version: 'v4.13.0',
  usedFor: "applies the injector's patches as the API server does",
}

export interface PythonTool {
  readonly name: string
  readonly requirement: string
  readonly module: string
  readonly usedFor: string
}

export const KUBERNETES_VALIDATE: PythonTool = {
  name: 'kubernetes-validate',
  requirement: 'kubernetes-validate==1.37.0',
  module: 'kubernetes_validate',
  usedFor: 'validates pods and rendered manifests against the Kubernetes JSON schemas, offline',
}

/** `KAFKA_TEST_TOOLS_DIR`, else `$XDG_CACHE_HOME/kafka-sidecar-test-tools`, else `~/.cache/kafka-sidecar-test-tools`. */
export function toolsDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.KAFKA_TEST_TOOLS_DIR) return env.KAFKA_TEST_TOOLS_DIR
  return join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'kafka-sidecar-test-tools')
}

export class RegistryToolInstallError extends HarnessError {
  constructor(what: string, command: string, output: string) {
    super(
      'KSC_ERR_HARNESS_TOOL_INSTALL',
      `could not install ${what} for the Kubernetes tests: \`${command}\` failed. Check access to the package ` +
        `registry, then run npm test again.\nLast lines:\n${output.trim().split('\n').slice(-15).join('\n')}`,
    )
  }
}

/** Why a tool cannot be had on this machine at all (then its tests are skipped), or undefined. */
export function goMissing(env: NodeJS.ProcessEnv = process.env): string | undefined {
  return onPath('go', env.PATH) ? undefined : 'Go is not installed (`go` is not on PATH)'
}

export function pythonMissing(env: NodeJS.ProcessEnv = process.env): string | undefined {
  return onPath('python3', env.PATH) ? undefined : 'Python 3 is not installed (`python3` is not on PATH)'
}

/** The tool's executable, installed with `go install` on first use; `log` hears one line when it installs. */
export async function goTool(tool: GoTool, log: (line: string) => void = () => {}): Promise<string> {
  const dir = join(toolsDir(), 'go', `${tool.command}-${tool.version}`)
  const binary = join(dir, tool.command)
  if (existsSync(binary)) return binary
  const tmp = `${dir}.tmp-${process.pid}-${Date.now()}`
  mkdirSync(tmp, { recursive: true })
  const spec = `${tool.pkg}@${tool.version}`
  log(`installing ${tool.command} ${tool.version} for the tests (${tool.usedFor}): go install ${spec}`)
  // GOTOOLCHAIN=local: build with the Go on this machine; never fetch another toolchain behind the test's back.
  const env = { ...process.env, GOBIN: tmp, GOTOOLCHAIN: 'local', GOFLAGS: '-buildvcs=false' }
  const r = await runCommand('go', ['install', spec], { env, timeoutMs: 30 * 60_000 })
  if (r.code !== 0 || !existsSync(join(tmp, tool.command))) {
    rmSync(tmp, { recursive: true, force: true })
    throw new RegistryToolInstallError(`${tool.command} ${tool.version}`, `go install ${spec}`, r.stderr + r.stdout)
  }
  settle(tmp, dir)
  return binary
}

/** Runs a Python tool's module: `python3 -m <module>` with the package on PYTHONPATH. */
export interface PythonRunner {
  readonly command: string
  readonly args: readonly string[]
  readonly env: NodeJS.ProcessEnv
}

/** The tool, installed with `pip install --target` on first use (no virtualenv, nothing in the system Python). */
export async function pythonTool(tool: PythonTool, log: (line: string) => void = () => {}): Promise<PythonRunner> {
  const dir = join(toolsDir(), 'python', tool.requirement.replace(/[^A-Za-z0-9.=_-]/g, '_'))
  const runner = { command: 'python3', args: ['-m', tool.module], env: { ...process.env, PYTHONPATH: dir } }
  if (existsSync(join(dir, tool.module))) return runner
  const tmp = `${dir}.tmp-${process.pid}-${Date.now()}`
  mkdirSync(tmp, { recursive: true })
  log(`installing ${tool.name} for the tests (${tool.usedFor}): pip install --target ... ${tool.requirement}`)
  const args = ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', '--target', tmp, tool.requirement]
  const r = await runCommand('python3', args, { timeoutMs: 15 * 60_000 })
  if (r.code !== 0 || !existsSync(join(tmp, tool.module))) {
    rmSync(tmp, { recursive: true, force: true })
    throw new RegistryToolInstallError(tool.requirement, `python3 ${args.join(' ')}`, r.stderr + r.stdout)
  }
  settle(tmp, dir)
  return runner
}

/** Moves a finished install into place; when another process got there first, keeps theirs. */
function settle(tmp: string, dir: string): void {
  try {
    renameSync(tmp, dir)
  } catch (err) {
    if (!existsSync(dir)) throw err
    rmSync(tmp, { recursive: true, force: true })
  }
}
