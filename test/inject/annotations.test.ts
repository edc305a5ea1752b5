import { describe, expect, it } from 'vitest'
import { injectDecision, parseInjectionAnnotations } from '../../src/inject/annotations.js'

const parse = (a: Record<string, string>) => parseInjectionAnnotations(a)
const messages = (a: Record<string, string>) => parse(a).problems.map((p) => `${p.field}: ${p.message}`)

describe('injectDecision', () => {
  it('label-selected pods are injected unless they opt out, by annotation or label', () => {
    expect(injectDecision({}, {}, false)).toBe('inject')
    expect(injectDecision({ 'kafka-sidecar.io/inject': 'false' }, {}, false)).toBe('skip-opted-out')
    expect(injectDecision({}, { 'kafka-sidecar.io/inject': 'false' }, false)).toBe('skip-opted-out')
    // The annotation wins over the label when both are there.
    expect(injectDecision({ 'kafka-sidecar.io/inject': 'true' }, { 'kafka-sidecar.io/inject': 'false' }, false)).toBe(
      'inject',
    )
  })

  it('on the annotation route only an explicit "true" injects', () => {
    expect(injectDecision({}, {}, true)).toBe('skip-not-opted-in')
    expect(injectDecision({ 'kafka-sidecar.io/inject': 'true' }, {}, true)).toBe('inject')
    expect(injectDecision({ 'kafka-sidecar.io/inject': ' TRUE ' }, {}, true)).toBe('inject')
    expect(injectDecision({ 'kafka-sidecar.io/inject': 'maybe' }, {}, true)).toBe('skip-not-opted-in')
  })
})

describe('parseInjectionAnnotations', () => {
  it('reads every annotation', () => {
    const { options, problems } = parse({
      'kafka-sidecar.io/config': 'orders-sidecar',
      'kafka-sidecar.io/upstream': 'kafka-0:9092, kafka-1:9092',
      'kafka-sidecar.io/log-level': 'debug',
      'kafka-sidecar.io/cpu-request': '100m',
      'kafka-sidecar.io/cpu-limit': '1',
      'kafka-sidecar.io/memory-request': '64Mi',
      'kafka-sidecar.io/memory-limit': '0.5Gi',
      'kafka-sidecar.io/native-sidecar': 'false',
      'kafka-sidecar.io/expose-admin': 'true',
      'kafka-sidecar.io/bootstrap-env': 'BROKERS',
      'kafka-sidecar.io/tls-secret': 'orders-kafka-tls',
      'other.io/thing': 'ignored',
    })
    expect(problems).toEqual([])
    expect(options).toEqual({
      configMap: 'orders-sidecar',
      upstream: 'kafka-0:9092,kafka-1:9092',
      logLevel: 'debug',
      resources: { cpuRequest: '100m', cpuLimit: '1', memoryRequest: '64Mi', memoryLimit: '0.5Gi' },
      nativeSidecar: false,
      exposeAdmin: true,
      bootstrapEnv: 'BROKERS',
      tls: { source: { kind: 'secret', secretName: 'orders-kafka-tls' }, for: 'upstream' },
    })
  })

  it('names each bad value and what is expected', () => {
    expect(
      messages({
        'kafka-sidecar.io/config': 'Orders_Sidecar',
        'kafka-sidecar.io/upstream': 'kafka',
        'kafka-sidecar.io/cpu-request': '2',
        'kafka-sidecar.io/cpu-limit': '500m',
        'kafka-sidecar.io/native-sidecar': 'yes',
        'kafka-sidecar.io/bootstrap-env': 'KAFKA-BROKERS',
        'kafka-sidecar.io/injct': 'true',
      }),
    ).toEqual([
      'metadata.annotations["kafka-sidecar.io/injct"]: unknown kafka-sidecar annotation (did you mean kafka-sidecar.io/inject?)',
      'metadata.annotations["kafka-sidecar.io/config"]: "Orders_Sidecar" is not a ConfigMap name (lower-case DNS subdomain)',
      'metadata.annotations["kafka-sidecar.io/upstream"]: "kafka" is not host:port (e.g. kafka:9092)',
      'metadata.annotations["kafka-sidecar.io/cpu-request"]: 2 is more than the limit 500m: a request may not exceed its limit',
      'metadata.annotations["kafka-sidecar.io/native-sidecar"]: "yes" is not "true" or "false"',
      'metadata.annotations["kafka-sidecar.io/bootstrap-env"]: "KAFKA-BROKERS" is not an environment variable name',
    ])
  })

  it('TLS: one source, a CSI issuer for cert-manager, and upstream TLS needs a config file', () => {
    expect(
      parse({
        'kafka-sidecar.io/tls-csi': 'cert-manager',
        'kafka-sidecar.io/tls-csi-issuer': 'mesh-ca',
        'kafka-sidecar.io/tls-for': 'listen',
      }).options.tls,
    ).toEqual({ source: { kind: 'cert-manager-csi', issuerName: 'mesh-ca', issuerKind: 'Issuer' }, for: 'listen' })
    expect(messages({ 'kafka-sidecar.io/tls-csi': 'cert-manager', 'kafka-sidecar.io/tls-for': 'listen' })).toEqual([
      'metadata.annotations["kafka-sidecar.io/tls-csi-issuer"]: is needed with kafka-sidecar.io/tls-csi: cert-manager: NAME or ClusterIssuer/NAME',
    ])
    expect(messages({ 'kafka-sidecar.io/tls-secret': 'a', 'kafka-sidecar.io/tls-csi': 'spiffe' })[0]).toContain(
      'are both set',
    )
    expect(messages({ 'kafka-sidecar.io/tls-csi': 'vault', 'kafka-sidecar.io/tls-for': 'listen' })[0]).toContain(
      '"vault" is not cert-manager or spiffe',
    )
    const upstreamTls = messages({ 'kafka-sidecar.io/tls-secret': 'orders-tls' })
    expect(upstreamTls).toHaveLength(1)
    expect(upstreamTls[0]).toContain('TLS to the brokers needs a config file')
    expect(upstreamTls[0]).toContain('/var/run/kafka-sidecar/tls/ca.crt')
    expect(
      parse({ 'kafka-sidecar.io/tls-secret': 'orders-tls', 'kafka-sidecar.io/config': 'orders-sidecar' }).problems,
    ).toEqual([])
  })
})
