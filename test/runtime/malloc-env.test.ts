import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { mallocEnvAssignments, missingMallocEnv, SIDECAR_MALLOC_ENV } from '../../src/runtime/malloc-env.js'

const ROOT = new URL('../../', import.meta.url)
const read = (path: string) => readFileSync(new URL(path, ROOT), 'utf8')

describe('malloc settings', () => {
  it('are missing when neither the variable nor GLIBC_TUNABLES sets them (glibc only)', () => {
    expect(missingMallocEnv({}, true)).toEqual(mallocEnvAssignments())
    expect(missingMallocEnv({ MALLOC_MMAP_THRESHOLD_: '' }, true)).toEqual(mallocEnvAssignments())
    expect(missingMallocEnv({ MALLOC_MMAP_THRESHOLD_: '262144' }, true)).toEqual([])
    expect(missingMallocEnv({ GLIBC_TUNABLES: 'glibc.malloc.mmap_threshold=131072' }, true)).toEqual([])
    expect(
      missingMallocEnv({ GLIBC_TUNABLES: 'glibc.malloc.arena_max=2:glibc.malloc.mmap_threshold=1' }, true),
    ).toEqual([])
    expect(missingMallocEnv({ GLIBC_TUNABLES: 'glibc.malloc.arena_max=2' }, true)).toEqual(mallocEnvAssignments())
    expect(missingMallocEnv({}, false)).toEqual([])
  })

  it('are set by every launcher: the image, the npm scripts and the benchmarks', () => {
    const assignments = mallocEnvAssignments()
    expect(assignments).toEqual(['MALLOC_MMAP_THRESHOLD_=131072'])
    const dockerfile = read('Dockerfile')
    for (const a of assignments) expect(dockerfile).toMatch(new RegExp(`^ENV ${a}$`, 'm'))
    const pkg = JSON.parse(read('package.json')) as { scripts: Record<string, string> }
    for (const script of ['start', 'dev'])
      for (const a of assignments) expect(pkg.scripts[script], script).toContain(`${a} node `)
    // bench/lib/targets.ts spreads SIDECAR_MALLOC_ENV into every sidecar's environment.
    expect(read('bench/lib/targets.ts')).toContain('...SIDECAR_MALLOC_ENV')
    expect(Object.keys(SIDECAR_MALLOC_ENV)).toEqual(['MALLOC_MMAP_THRESHOLD_'])
  })
})
