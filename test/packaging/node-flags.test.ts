import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { missingNodeFlags, SIDECAR_NODE_FLAGS } from '../../src/runtime/node-flags.js'

/**
 * The Node flags the sidecar is tuned for cannot be set from inside the process, so every launcher carries them
 * (src/runtime/node-flags.ts). These keep the launchers and the list in step.
 */
const repo = new URL('../../', import.meta.url)
const read = (path: string) => readFileSync(new URL(path, repo), 'utf8')

describe('Node flags of the sidecar process', () => {
  it('the kafka-sidecar executable keeps a shebang every env understands (BusyBox has no env -S)', () => {
    const shebang = read('src/cli.ts').split('\n')[0]!
    expect(shebang).toBe('#!/usr/bin/env node')
    const pkg = JSON.parse(read('package.json')) as { bin: Record<string, string>; scripts: Record<string, string> }
    expect(pkg.bin['kafka-sidecar']).toBe('dist/src/cli.js')
  })

  it('the container image, the npm scripts and the benchmarks pass them', () => {
    const entrypoint = read('Dockerfile')
      .split('\n')
      .find((l) => l.startsWith('ENTRYPOINT'))!
    expect(JSON.parse(entrypoint.slice('ENTRYPOINT'.length))).toEqual([
      'node',
      ...SIDECAR_NODE_FLAGS,
      'dist/src/cli.js',
    ])
    const pkg = JSON.parse(read('package.json')) as { scripts: Record<string, string> }
    for (const script of ['dev', 'start']) {
      expect(pkg.scripts[script], script).toContain(`node ${SIDECAR_NODE_FLAGS.join(' ')} dist/src/cli.js`)
    }
    expect(read('bench/lib/targets.ts')).toContain('...SIDECAR_NODE_FLAGS')
  })

  it('names the flags a process was started without', () => {
    expect(missingNodeFlags([], undefined)).toEqual([...SIDECAR_NODE_FLAGS])
    expect(missingNodeFlags([...SIDECAR_NODE_FLAGS, '--inspect'], undefined)).toEqual([])
    // A value of the operator's own, or a flag given through NODE_OPTIONS, counts as given.
    expect(missingNodeFlags(['--single-threaded-gc', '--max-semi-space-size=8'], undefined)).toEqual([])
    expect(missingNodeFlags(['--single-threaded-gc'], '--max_semi_space_size=4 --inspect')).toEqual([])
    expect(missingNodeFlags(['--max-semi-space-size=2'], '')).toEqual(['--single-threaded-gc'])
  })
})
