import { createRequire } from 'node:module'

/**
 * Native packages the record codec prefers over its own pure-JS code where they are faster (@node-rs/crc32,
 * @napi-rs/snappy). Each ships its compiled binary as an optional dependency per platform (linux-x64-gnu,
 * linux-x64-musl, darwin-arm64, ...), so on a platform without one, or an install that skipped optional
 * dependencies, the package throws when it is loaded: then the pure-JS code is used. The choice is made once, when
 * the module that asks is loaded, never per call.
 */

/** How a package is loaded; tests pass one that fails, to take the pure-JS path. */
export type ModuleLoader = (id: string) => unknown

const nodeRequire: ModuleLoader = createRequire(import.meta.url)

/**
 * The package `id` if it loads and has every function in `functions`, else undefined. A package that loads without
 * them (an incompatible version) counts as missing too.
 */
export function loadNative<T>(id: string, functions: readonly (keyof T & string)[], load = nodeRequire): T | undefined {
  let loaded: unknown
  try {
    loaded = load(id)
  } catch {
    return undefined
  }
  if (typeof loaded !== 'object' || loaded === null) return undefined
  const record = loaded as Record<string, unknown>
  return functions.every((name) => typeof record[name] === 'function') ? (loaded as T) : undefined
}
