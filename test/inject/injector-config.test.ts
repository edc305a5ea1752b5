import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { InjectorConfigError } from '../../src/inject/errors.js'
import { INJECTOR_DEFAULTS, loadInjectorConfig, validateInjectorConfig } from '../../src/inject/injector-config.js'

describe('injector configuration', () => {
  it('fills in the defaults; the bootstrap value follows the listen port', () => {
    expect(validateInjectorConfig({}).config).toEqual(INJECTOR_DEFAULTS)
    const { config } = validateInjectorConfig({ sidecar: { listenPort: 19092, image: 'r/ks:1' } })
    expect(config?.injection.bootstrapServers).toBe('localhost:19092')
    expect(config?.sidecar.image).toBe('r/ks:1')
  })

  it('names every problem', () => {
    expect(
      validateInjectorConfig({
        sidecar: {
          image: '',
          upstream: 'kafka',
          healthPort: 9644,
          resources: { limits: { memory: 'big' } },
          nativeSidecar: 'yes',
          imagePullPolicy: 'Sometimes',
          colour: 'blue',
        },
        injection: { bootstrapEnv: '1X' },
      }).problems,
    ).toEqual([
      'sidecar.colour: unknown key (known: image, imagePullPolicy, upstream, logLevel, nativeSidecar, listenPort, adminPort, healthPort, exposeAdmin, resources, runAsUser, runAsGroup, preStopSleepSeconds)',
      'sidecar.image: is empty: name the kafka-sidecar image (repository:tag)',
      'sidecar.upstream: "kafka" is not host:port',
      'sidecar.healthPort: 9644 is also sidecar.adminPort: give each its own port',
      'injection.bootstrapEnv: "1X" is not an environment variable name',
      'sidecar.imagePullPolicy: "Sometimes" is not one of Always, IfNotPresent, Never',
      'sidecar.nativeSidecar: "yes" is not true or false',
      'sidecar.resources.limits.memory: "big" is not a Kubernetes quantity',
    ])
  })

  it('loads a file, and says which file is wrong', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ksc-injector-'))
    const good = join(dir, 'good.yaml')
    writeFileSync(good, 'sidecar:\n  image: r/ks:1\n  upstream: kafka:9092\n  nativeSidecar: false\n')
    expect(loadInjectorConfig(good).sidecar).toMatchObject({
      image: 'r/ks:1',
      upstream: 'kafka:9092',
      nativeSidecar: false,
    })
    const bad = join(dir, 'bad.yaml')
    writeFileSync(bad, 'sidecar: [1, 2]\n')
    expect(() => loadInjectorConfig(bad)).toThrow(InjectorConfigError)
    expect(() => loadInjectorConfig(bad)).toThrow(
      `invalid injector configuration (${bad}), 1 problem:\n  - sidecar: expected a mapping`,
    )
    expect(() => loadInjectorConfig(join(dir, 'missing.yaml'))).toThrow(/cannot read it/)
  })
})
