import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

/**
 * A file of the repository (not of the build) by its path from the repository root, found by walking up from this
 * module: the same code then runs from bench/lib/soak/*.ts (vitest) and from dist/bench/lib/soak/*.js (npm run
 * soak), and the Java sources the soak launches are not copied into dist/.
 */
export function repoFile(pathFromRoot: string): string {
  let dir = dirname(fileURLToPath(import.meta.url))
  for (;;) {
    const candidate = join(dir, pathFromRoot)
    if (existsSync(candidate)) return candidate
    const parent = dirname(dir)
    if (parent === dir) throw new Error(`${pathFromRoot} not found above ${dirname(fileURLToPath(import.meta.url))}`)
    dir = parent
  }
}
