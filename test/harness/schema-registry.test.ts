import { describe, expect, it } from 'vitest'
import { runNeedsSchemaRegistry } from './schema-registry.js'

describe('runNeedsSchemaRegistry', () => {
  const argv = (...args: string[]) => ['/usr/bin/node', '/work/node_modules/vitest/vitest.mjs', ...args]
  it('the whole suite, or a filter naming schema validation, starts the registry', () => {
    expect(runNeedsSchemaRegistry(argv('run'), {})).toBe(true)
    expect(runNeedsSchemaRegistry(argv('run', 'test/integration/schema-validation.test.ts'), {})).toBe(true)
    expect(runNeedsSchemaRegistry(argv('run', '-t', 'x', 'schema-validation'), {})).toBe(true)
  })
  it('a run of other files does not; the environment overrides', () => {
    expect(runNeedsSchemaRegistry(argv('run', 'test/integration/readyz.test.ts'), {})).toBe(false)
    expect(runNeedsSchemaRegistry(argv('run', '-t', 'schema-validation', 'test/codec'), {})).toBe(false)
    expect(runNeedsSchemaRegistry(argv('run', 'test/codec'), { KSC_TEST_SCHEMA_REGISTRY: '1' })).toBe(true)
    expect(runNeedsSchemaRegistry(argv('run'), { KSC_TEST_SCHEMA_REGISTRY: '0' })).toBe(false)
  })
})
