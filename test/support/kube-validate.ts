import type { PythonRunner } from '../harness/registry-tools.js'
import { runCommand } from '../harness/run-command.js'

/**
 * Validates Kubernetes objects (YAML or JSON files, several documents each) against the Kubernetes JSON schemas
 * of the given releases, offline, with kubernetes-validate (test/harness/registry-tools.ts). Strict: a field the
 * schema does not know is an error, as the API server's strict field validation makes it. Kinds without a schema
 * (custom resources: cert-manager, Prometheus Operator) come back as `unknownKinds` rather than errors.
 */
export interface ValidationReport {
  /** `<file> <kind>/<name> <version>` per object and release that passed. */
  readonly passed: readonly string[]
  readonly errors: readonly string[]
  readonly unknownKinds: readonly string[]
}

export async function validateObjects(
  runner: PythonRunner,
  files: readonly string[],
  kubeVersions: readonly string[],
): Promise<ValidationReport> {
  const args = [...runner.args, '--strict', ...kubeVersions.flatMap((v) => ['-k', v]), ...files]
  const r = await runCommand(runner.command, args, { env: runner.env, timeoutMs: 300_000 })
  const lines = `${r.stdout}\n${r.stderr}`.split('\n').filter((l) => l.trim() !== '')
  const passed = lines.filter((l) => l.startsWith('INFO ') && l.includes(' passed for resource '))
  const unknownKinds = lines.filter((l) => l.startsWith('WARN '))
  const errors = lines.filter((l) => !l.startsWith('INFO ') && !l.startsWith('WARN '))
  if (r.code !== 0 && errors.length === 0) errors.push(`kubernetes-validate exited ${r.code}`)
  return { passed, errors, unknownKinds }
}
