/**
 * What a process costs, read from /proc (Linux only): CPU time, resident memory and its high-water mark.
 * Reading /proc is cheap and does not disturb the process, unlike asking it over its admin port.
 */
import { readFileSync, writeFileSync } from 'node:fs'

/** Clock ticks per second of /proc/<pid>/stat times; 100 on every Linux this runs on (sysconf(_SC_CLK_TCK)). */
const CLOCK_TICKS = 100

/** utime + stime of a process (all its threads) in seconds. */
export function cpuSeconds(pid: number): number {
  const { user, system } = cpuSplit(pid)
  return user + system
}

/** CPU seconds in user space (JavaScript, V8, libuv) and in the kernel (syscalls: socket reads and writes). */
export function cpuSplit(pid: number): { user: number; system: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  // The command name (field 2) may contain spaces and parentheses: fields are counted after its last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return { user: Number(fields[11]) / CLOCK_TICKS, system: Number(fields[12]) / CLOCK_TICKS }
}

function statusKb(pid: number, key: string): number {
  const m = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
  return m ? Number(m[1]) : Number.NaN
}

/** Resident set size now, in MB (2^20 bytes, as ps and top count). */
export function rssMb(pid: number): number {
  return statusKb(pid, 'VmRSS') / 1024
}

/**
 * The anonymous part of the RSS (heap, stacks, buffers) in MB: what the process itself allocated, without the
 * pages of its executable and libraries (RssFile), which processes running the same binary share.
 */
export function rssAnonMb(pid: number): number {
  return statusKb(pid, 'RssAnon') / 1024
}

/** Peak resident set size since the process started or since the last resetPeakRss, in MB. */
export function peakRssMb(pid: number): number {
  return statusKb(pid, 'VmHWM') / 1024
}

/**
 * Resets the peak RSS (VmHWM) to the current RSS, so the next peakRssMb covers one measurement only
 * (`echo 5 > /proc/<pid>/clear_refs`, Linux 4.0+). Returns false where that is not allowed; callers then
 * fall back to the lifetime peak.
 */
export function resetPeakRss(pid: number): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5')
    return true
  } catch {
    return false
  }
}

/**
 * CPU seconds the whole machine has been busy since boot, summed over its cores (/proc/stat: every state but idle
 * and iowait). Over one measurement it says how much of the machine the run took, load generators and broker
 * included: on a machine the direct run already keeps busy, what a proxy costs comes out of everyone's share.
 */
export function machineBusySeconds(): number {
  const first = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!
  // cpu user nice system idle iowait irq softirq steal [guest guest_nice: already inside user and nice]
  const t = first.trim().split(/\s+/).slice(1, 9).map(Number)
  return (t[0]! + t[1]! + t[2]! + t[5]! + t[6]! + t[7]!) / CLOCK_TICKS
}

/** Number of threads of a process (a JVM's count grows with its event loops and GC workers). */
export function threadCount(pid: number): number {
  return statusKb(pid, 'Threads')
}

/**
 * CPU seconds and peak RSS of a process over one measurement: `begin()` before, `end()` after.
 * With `pid` undefined (a target that has no process of its own, e.g. direct to the broker) both are NaN.
 */
export class ProcessWindow {
  readonly #pid: number | undefined
  #cpuBefore = { user: 0, system: 0 }
  #wallBefore = 0

  constructor(pid: number | undefined) {
    this.#pid = pid
  }

  begin(): void {
    this.#wallBefore = performance.now()
    if (this.#pid === undefined) return
    resetPeakRss(this.#pid)
    this.#cpuBefore = cpuSplit(this.#pid)
  }

  end(): {
    cpuSeconds: number
    userSeconds: number
    systemSeconds: number
    wallSeconds: number
    peakRssMb: number
    rssMb: number
  } {
    const wallSeconds = (performance.now() - this.#wallBefore) / 1000
    if (this.#pid === undefined)
      return {
        cpuSeconds: Number.NaN,
        userSeconds: Number.NaN,
        systemSeconds: Number.NaN,
        wallSeconds,
        peakRssMb: Number.NaN,
        rssMb: Number.NaN,
      }
    const now = cpuSplit(this.#pid)
    const userSeconds = now.user - this.#cpuBefore.user
    const systemSeconds = now.system - this.#cpuBefore.system
    return {
      cpuSeconds: userSeconds + systemSeconds,
      userSeconds,
      systemSeconds,
      wallSeconds,
      peakRssMb: peakRssMb(this.#pid),
      rssMb: rssMb(this.#pid),
    }
  }
}
