/**
 * Top self-time functions of V8 CPU profiles (the .cpuprofile files `node --cpu-prof` writes), merged over
 * every file in a directory. Self time is what a function spent in its own code, not in what it called: the
 * figure that says where to optimise next.
 */
import { readdirSync, readFileSync } from 'node:fs'
import { join, relative } from 'node:path'

interface ProfileNode {
  id: number
  callFrame: { functionName: string; url: string; lineNumber: number }
}

interface CpuProfile {
  nodes: ProfileNode[]
  samples: number[]
  timeDeltas: number[]
}

export interface SelfTimeEntry {
  /** "name (file:line)", file relative to the repository where possible. */
  frame: string
  selfMs: number
  /** Share of the busy time (all sampled time except "(idle)"), in percent. */
  percent: number
}

export function topSelfTime(
  dir: string,
  limit = 15,
  root = process.cwd(),
): { totalMs: number; busyMs: number; entries: SelfTimeEntry[] } {
  const byFrame = new Map<string, number>()
  let totalUs = 0
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'))) {
    const profile = JSON.parse(readFileSync(join(dir, file), 'utf8')) as CpuProfile
    const frames = new Map<number, string>()
    for (const node of profile.nodes) {
      const { functionName, url, lineNumber } = node.callFrame
      const where = url ? ` (${shorten(url, root)}:${lineNumber + 1})` : ''
      frames.set(node.id, `${functionName || '(anonymous)'}${where}`)
    }
    // timeDeltas[i] is the time before samples[i]; attribute it to that sample's frame.
    for (let i = 0; i < profile.samples.length; i++) {
      const us = profile.timeDeltas[i] ?? 0
      const frame = frames.get(profile.samples[i]!) ?? '(unknown)'
      byFrame.set(frame, (byFrame.get(frame) ?? 0) + us)
      totalUs += us
    }
  }
  // Waiting for I/O is not work: shares are of the time the process was busy.
  const busyUs = totalUs - (byFrame.get('(idle)') ?? 0)
  byFrame.delete('(idle)')
  const entries = [...byFrame]
    .sort((a, b) => b[1] - a[1])
    .slice(0, limit)
    .map(([frame, us]) => ({ frame, selfMs: us / 1000, percent: busyUs > 0 ? (100 * us) / busyUs : 0 }))
  return { totalMs: totalUs / 1000, busyMs: busyUs / 1000, entries }
}

function shorten(url: string, root: string): string {
  const path = url.startsWith('file://') ? decodeURIComponent(url.slice('file://'.length)) : url
  return path.startsWith('/') ? relative(root, path) : path
}
