import { type ChildProcess, spawn } from 'node:child_process'
import type { Socket } from 'node:net'

/**
 * Every JVM the harness starts runs under this bash watchdog, so no broker or tool outlives the Node
 * process that started it, however that process ends (normal exit, exception, SIGINT, even SIGKILL).
 *
 * The lifeline is fd 3, a socket pair to Node. The kernel closes Node's end when Node dies, for any reason;
 * the watchdog's `read` then sees EOF, SIGTERMs the JVM, SIGKILLs it after the grace period and, if told to,
 * removes the JVM's data directory. The JVM itself never gets fd 3, so it cannot keep the lifeline open.
 * On a deliberate exit Node first writes "release", and the watchdog leaves quietly.
 *
 * The JVM pid is written to the pid file (so a node's directory records it) and announced on fd 3.
 * SIGTERM/SIGINT/SIGHUP sent to the wrapper are forwarded to the JVM.
 *
 * Arguments: $1 pid file ('' for none), $2 grace in tenths of a second, $3 directory to remove when the
 * lifeline is lost ('' for none), then the command.
 */
const WATCHDOG_SCRIPT = String.raw`
set -u
pid_file=$1 grace_ds=$2 cleanup_dir=$3
shift 3
child=
trap 'if [ -n "$child" ]; then kill -TERM "$child" 2>/dev/null; fi' TERM INT HUP
# Explicit <&0: bash gives background commands /dev/null as stdin otherwise, and tools read their input there.
"$@" 3<&- 0<&0 &
child=$!
# From here on the wrapper's own stderr (bash job notices such as "Killed") must not mix with the JVM's.
exec 2>/dev/null
if [ -n "$pid_file" ]; then printf '%s\n' "$child" > "$pid_file"; fi
printf '%s\n' "$child" >&3
{
  while read -r -u 3 line; do
    if [ "$line" = release ]; then exit 0; fi
  done
  kill -TERM "$child" 2>/dev/null
  i=0
  while kill -0 "$child" 2>/dev/null && [ "$i" -lt "$grace_ds" ]; do sleep 0.1; i=$((i + 1)); done
  kill -KILL "$child" 2>/dev/null
  if [ -n "$cleanup_dir" ]; then
    while kill -0 "$child" 2>/dev/null; do sleep 0.1; done
    rm -rf -- "$cleanup_dir"
  fi
} </dev/null >/dev/null 2>&1 &
while :; do
  wait "$child"
  code=$?
  kill -0 "$child" 2>/dev/null || break
done
exit "$code"
`

export type StdioEntry = 'pipe' | 'ignore' | 'inherit' | number

export interface WatchedProcessOptions {
  /** stdio of the JVM (fd 0-2); fd 3 is always the lifeline and is added here. */
  stdio: readonly [StdioEntry, StdioEntry, StdioEntry]
  env?: NodeJS.ProcessEnv
  cwd?: string
  /** Where the watchdog records the JVM pid. */
  pidFile?: string
  /** Time between SIGTERM and SIGKILL when the lifeline is lost. */
  graceMs: number
  /**
   * Removed by the watchdog once the JVM is dead, only when the lifeline was lost (Node died). Several
   * watchdogs may name the same directory: whichever finishes first removes it, data of siblings included.
   */
  cleanupDir?: string
}

export interface WatchedExit {
  /** Exit code of the JVM; 128+n when it died of signal n. */
  code: number | null
  signal: NodeJS.Signals | null
}

export interface WatchedProcess {
  /** The wrapper; its stdin/stdout/stderr are the JVM's. */
  readonly child: ChildProcess
  /** Resolves with the JVM's pid once the wrapper has started it. */
  readonly pid: Promise<number>
  /** Resolves when the JVM has exited and the wrapper is gone. */
  readonly exited: Promise<WatchedExit>
  /** Sends a signal to the JVM itself (not the wrapper), so SIGKILL really kills the JVM. */
  signal(signal: NodeJS.Signals): Promise<void>
}

/** Lifelines of the JVMs this process runs, for the parent-disconnect hook below. */
const liveLifelines = new Set<Socket>()
let disconnectHooked = false

/**
 * A process with an IPC parent (a vitest worker) can outlive that parent: a SIGKILLed vitest leaves its
 * workers running until their current test times out. Cutting the lifelines when the parent goes away hands
 * the JVMs to their watchdogs at once instead of a minute later.
 */
function hookParentDisconnect(): void {
  if (disconnectHooked || !process.connected) return
  disconnectHooked = true
  process.once('disconnect', () => {
    for (const lifeline of liveLifelines) lifeline.destroy()
  })
}

export function spawnWatched(command: string, args: readonly string[], options: WatchedProcessOptions): WatchedProcess {
  const graceDs = String(Math.max(1, Math.ceil(options.graceMs / 100)))
  const child = spawn(
    'bash',
    [
      '-c',
      WATCHDOG_SCRIPT,
      'ksc-jvm-watchdog',
      options.pidFile ?? '',
      graceDs,
      options.cleanupDir ?? '',
      command,
      ...args,
    ],
    {
      stdio: [...options.stdio, 'pipe'],
      env: options.env,
      cwd: options.cwd,
      // Own process group: a Ctrl-C in the terminal reaches the harness, which stops brokers in order,
      // instead of hitting every JVM at once. If the harness dies instead, the lifeline does the work.
      detached: true,
    },
  )
  const lifeline = child.stdio[3] as Socket
  liveLifelines.add(lifeline)
  hookParentDisconnect()
  let exitedNow: WatchedExit | undefined

  const pid = new Promise<number>((resolve, reject) => {
    let buffered = ''
    const onData = (chunk: Buffer): void => {
      buffered += chunk.toString('utf8')
      const newline = buffered.indexOf('\n')
      if (newline < 0) return
      lifeline.off('data', onData)
      const value = Number.parseInt(buffered.slice(0, newline), 10)
      if (Number.isInteger(value) && value > 0) resolve(value)
      else reject(new Error(`JVM watchdog announced an invalid pid: ${JSON.stringify(buffered)}`))
    }
    lifeline.on('data', onData)
    child.once('error', reject)
    child.once('exit', () => reject(new Error(`${command} exited before it was started`)))
  })
  // Callers that only care about the exit must not see an unhandled rejection from an early failure.
  pid.catch(() => {})

  const exited = new Promise<WatchedExit>((resolve) => {
    const finish = (result: WatchedExit): void => {
      exitedNow = result
      liveLifelines.delete(lifeline)
      // Deliberate end of the lifeline: the watchdog must not treat this as "Node died".
      if (!lifeline.destroyed) lifeline.end('release\n')
      resolve(result)
    }
    child.once('exit', (code, signal) => finish({ code, signal }))
    child.once('error', () => finish({ code: null, signal: null }))
  })
  // A pipe error after Node stops listening (EPIPE on the release write) changes nothing.
  lifeline.on('error', () => {})

  return {
    child,
    pid,
    exited,
    async signal(sig: NodeJS.Signals): Promise<void> {
      if (exitedNow) return
      let jvmPid: number
      try {
        jvmPid = await pid
      } catch {
        return
      }
      try {
        process.kill(jvmPid, sig)
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err
      }
    },
  }
}

/** True when a process with this pid exists (and is not a zombie we could still reap). */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}
