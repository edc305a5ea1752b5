import { existsSync } from 'node:fs'
import { fileURLToPath, pathToFileURL } from 'node:url'

/**
 * The JavaScript file a worker thread runs, given its URL beside the calling module (`new URL('./x.js',
 * import.meta.url)`). Compiled (dist/), that file is there. When the TypeScript sources run directly (vitest), the
 * module's directory holds only x.ts, which a worker thread cannot load on Node 20 (it has no type stripping, and
 * the test runner's transform does not reach workers): the compiled file of the same path under dist/ is used,
 * which `npm test` builds first (its pretest script).
 */
export function workerEntry(beside: URL): URL {
  const path = fileURLToPath(beside)
  if (existsSync(path)) return beside
  const marker = `${'/'}src${'/'}`
  const at = path.lastIndexOf(marker)
  const compiled = at < 0 ? undefined : `${path.slice(0, at)}/dist${path.slice(at)}`
  if (compiled !== undefined && existsSync(compiled)) return pathToFileURL(compiled)
  throw new Error(
    `the worker thread's file ${path} is missing${compiled ? ` (and ${compiled})` : ''}: run npm run build`,
  )
}
