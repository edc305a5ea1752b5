import { spawn } from 'node:child_process'

export interface CommandResult {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
  /** True when the command was killed for running past timeoutMs. */
  timedOut: boolean
}

export interface RunCommandOptions {
  cwd?: string
  env?: NodeJS.ProcessEnv
  input?: string
  /** Called with each complete line of stdout and stderr as it arrives (progress reporting). */
  onLine?: (line: string) => void
  /** SIGKILL the command after this long (the result then has timedOut: true). Default: no limit. */
  timeoutMs?: number
}

/**
 * Runs a short-lived command to completion and collects its output. Rejects only when the command
 * cannot be started at all (ENOENT and friends); a non-zero exit is a result the caller interprets.
 * Short-lived helpers only (java -version, mvn, StorageTool, openssl): JVMs that must never be orphaned
 * go through the watchdog instead.
 */
export function runCommand(
  command: string,
  args: readonly string[],
  options: RunCommandOptions = {},
): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env,
      stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    })
    const stdout: Buffer[] = []
    const stderr: Buffer[] = []
    const lineSplitter = (): ((chunk: Buffer) => void) => {
      let partial = ''
      return (chunk) => {
        if (!options.onLine) return
        partial += chunk.toString('utf8')
        const lines = partial.split('\n')
        partial = lines.pop() ?? ''
        for (const line of lines) options.onLine(line)
      }
    }
    const onStdout = lineSplitter()
    const onStderr = lineSplitter()
    child.stdout?.on('data', (chunk: Buffer) => {
      stdout.push(chunk)
      onStdout(chunk)
    })
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr.push(chunk)
      onStderr(chunk)
    })
    if (options.input !== undefined) {
      child.stdin?.on('error', () => {})
      child.stdin?.end(options.input)
    }
    let timedOut = false
    const timer =
      options.timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            timedOut = true
            child.kill('SIGKILL')
          }, options.timeoutMs)
    child.once('error', (err) => {
      clearTimeout(timer)
      reject(err)
    })
    child.once('close', (code, signal) => {
      clearTimeout(timer)
      resolve({
        code,
        signal,
        stdout: Buffer.concat(stdout).toString('utf8'),
        stderr: Buffer.concat(stderr).toString('utf8'),
        timedOut,
      })
    })
  })
}
