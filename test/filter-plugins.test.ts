import { describe, expect, it } from 'vitest'
import { FILTER_PLUGINS } from '../src/filter-plugins.js'
import { setupContext } from './support/filter-testing.js'

/** The smallest valid configuration of each filter whose implementation is loaded on first use. */
const MINIMAL: Record<string, unknown> = {
  'rate-limit': { rules: [{ match: { clientId: 'app' }, limits: { produceBytesPerSecond: 1_000_000 } }] },
  'schema-validation': { rules: [{ topic: 'orders', requiredHeaders: ['trace-id'] }] },
  tap: { taps: [] },
}

describe('the filter registry', () => {
  it.each(Object.keys(MINIMAL))('loads %s when it is first configured, and the result is that filter', async (name) => {
    const plugin = FILTER_PLUGINS.find((p) => p.name === name)!
    const configured = await plugin.configure(plugin.parseConfig(MINIMAL[name]), setupContext())
    try {
      expect(configured.name).toBe(name)
      expect(typeof configured.forConnection).toBe('function')
    } finally {
      await configured.close?.()
    }
  })
})
