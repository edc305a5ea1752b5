import { existsSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

/** This package's version for ApiVersions (KIP-511 client software version), from the nearest package.json. */
export const SOFTWARE_VERSION = ((): string => {
  try {
    let dir = dirname(fileURLToPath(import.meta.url))
    for (let i = 0; i < 6; i++) {
      const file = join(dir, 'package.json')
      if (existsSync(file)) return String(JSON.parse(readFileSync(file, 'utf8')).version ?? 'unknown')
      dir = dirname(dir)
    }
  } catch {
    // fall through
  }
  return 'unknown'
})()
