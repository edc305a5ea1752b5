import { execFileSync, spawnSync } from 'node:child_process'

/** True when `command` runs here (the lz4 and zstd reference CLIs are Debian packages, not npm ones). */
export function hasCommand(command: string): boolean {
  return spawnSync(command, ['--version'], { stdio: 'ignore' }).status === 0
}

/** Runs a reference CLI as a filter: `input` on stdin, stdout back. */
export function pipeThrough(command: string, args: string[], input: Uint8Array): Buffer {
  return execFileSync(command, args, { input, maxBuffer: 256 * 1024 * 1024 })
}
