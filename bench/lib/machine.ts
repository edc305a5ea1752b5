/** The machine a benchmark ran on, so a figure is never quoted without its context. */
import { readFileSync } from 'node:fs'
import { cpus, loadavg, release, totalmem } from 'node:os'
import { runCommand } from '../../test/harness/run-command.js'

export interface MachineDescription {
  cpus: number
  cpuModel: string
  memoryGB: number
  kernel: string
  node: string
  /** `java -version` first line of each JVM used (tools and broker; the peer if it runs on another JDK). */
  java: Record<string, string>
  /** 1/5/15-minute load averages when the run started: the machine's background load, before ours. */
  loadBefore: number[]
  /** `ulimit -n` of this process (soft), which caps the connection-scaling runs. */
  openFilesLimit: number
}

export async function javaVersion(java: string): Promise<string> {
  const result = await runCommand(java, ['-version']).catch(() => undefined)
  return (result?.stderr ?? '').split('\n')[0]?.trim() || 'unknown'
}

export async function describeMachine(javas: Record<string, string>): Promise<MachineDescription> {
  const java: Record<string, string> = {}
  for (const [role, binary] of Object.entries(javas)) java[role] = await javaVersion(binary)
  return {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
    memoryGB: Math.round(totalmem() / 2 ** 30),
    kernel: release(),
    node: process.version,
    java,
    loadBefore: loadavg().map((x) => Math.round(x * 100) / 100),
    openFilesLimit: openFilesLimit(),
  }
}

function openFilesLimit(): number {
  const m = /^Max open files\s+(\d+|unlimited)/m.exec(readFileSync('/proc/self/limits', 'utf8'))
  return m?.[1] === 'unlimited' ? Number.POSITIVE_INFINITY : Number(m?.[1] ?? Number.NaN)
}
