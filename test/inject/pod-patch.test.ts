import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { PodInjectionError } from '../../src/inject/errors.js'
import { INJECTOR_DEFAULTS, type InjectorConfig } from '../../src/inject/injector-config.js'
import { mutatePod, pointer } from '../../src/inject/pod-patch.js'
import { applyPatch } from '../support/json-patch.js'

/**
 * The pod mutation on pods kubectl made (test/inject/fixtures, make-fixtures.sh): what the patched pod holds, and
 * that a second pass changes nothing. The patches are applied with test/support/json-patch.ts here; the
 * process-level test (test/commands/inject-webhook.test.ts) applies them with the API server's own library and
 * validates the result against the Kubernetes schemas.
 */

// biome-ignore lint/suspicious/noExplicitAny: pods are JSON documents; the assertions say what matters.
type Pod = any

const fixture = (name: string): Pod =>
  JSON.parse(readFileSync(new URL(`./fixtures/pod-${name}.json`, import.meta.url), 'utf8'))

const CONFIG: InjectorConfig = {
  ...INJECTOR_DEFAULTS,
  sidecar: {
    ...INJECTOR_DEFAULTS.sidecar,
    image: 'registry.example/kafka-sidecar:0.1.0',
    upstream: 'kafka.kafka:9092',
  },
}
const LEGACY: InjectorConfig = { ...CONFIG, sidecar: { ...CONFIG.sidecar, nativeSidecar: false } }
const OPTIONS = { requireOptIn: false, version: '0.1.0' }

function inject(pod: Pod, config = CONFIG, options = OPTIONS) {
  const mutation = mutatePod(pod, config, options)
  return { mutation, pod: applyPatch(pod, mutation.patch) as Pod }
}

const envOf = (c: Pod) => Object.fromEntries((c.env ?? []).map((e: Pod) => [e.name, e.value]))

describe('mutatePod: native sidecar', () => {
  it('adds the sidecar as the first init container, restartPolicy Always, probed on the health port', () => {
    const { mutation, pod } = inject(fixture('plain'))
    expect(mutation.outcome).toBe('injected')
    const [sidecar] = pod.spec.initContainers
    expect(sidecar.name).toBe('kafka-sidecar')
    expect(sidecar.restartPolicy).toBe('Always')
    expect(sidecar.image).toBe('registry.example/kafka-sidecar:0.1.0')
    expect(sidecar.args).toEqual(['run'])
    expect(envOf(sidecar)).toEqual({
      KAFKA_SIDECAR_LISTEN: '127.0.0.1:9092',
      KAFKA_SIDECAR_ADMIN: '127.0.0.1:9644',
      KAFKA_SIDECAR_HEALTH_PORT: '9645',
      KAFKA_SIDECAR_UPSTREAM: 'kafka.kafka:9092',
      KAFKA_SIDECAR_LOG_LEVEL: 'info',
    })
    // Probes go to the health-only port; /stats and /metrics stay on loopback (no admin port declared).
    expect(sidecar.ports).toEqual([{ name: 'ksc-health', containerPort: 9645, protocol: 'TCP' }])
    for (const probe of ['startupProbe', 'livenessProbe', 'readinessProbe']) {
      expect(sidecar[probe].httpGet.port, probe).toBe('ksc-health')
    }
    expect(sidecar.readinessProbe.httpGet.path).toBe('/readyz')
    expect(sidecar.securityContext).toMatchObject({
      runAsNonRoot: true,
      runAsUser: 1000,
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
    })
    expect(sidecar.lifecycle).toBeUndefined()
    // The app is pointed at the sidecar.
    expect(pod.spec.containers[0].env).toEqual([{ name: 'KAFKA_BOOTSTRAP_SERVERS', value: 'localhost:9092' }])
    // Selectable by the chart's PodMonitor; the workload's own labels stay.
    expect(pod.metadata.labels).toEqual({ app: 'orders', 'kafka-sidecar.io/injected': 'true' })
    expect(JSON.parse(pod.metadata.annotations['kafka-sidecar.io/status'])).toEqual({
      version: '0.1.0',
      mode: 'native-sidecar',
      container: 'kafka-sidecar',
    })
  })

  it('puts the bootstrap variable first in an existing env, so later entries may use $(KAFKA_BOOTSTRAP_SERVERS)', () => {
    const { pod } = inject(fixture('with-env'))
    expect(pod.spec.containers[0].env.map((e: Pod) => e.name)).toEqual(['KAFKA_BOOTSTRAP_SERVERS', 'LOG_LEVEL', 'TZ'])
  })

  it('goes before existing init containers, and adds no volume it does not need', () => {
    const before = fixture('init-containers')
    const { pod } = inject(before)
    expect(pod.spec.initContainers.map((c: Pod) => c.name)).toEqual(['kafka-sidecar', 'migrate'])
    expect(pod.spec.initContainers[1]).toEqual(before.spec.initContainers[0])
    expect(pod.spec.volumes).toEqual(before.spec.volumes)
  })

  it('leaves an app that sets the bootstrap variable itself as it is', () => {
    const before = fixture('sets-bootstrap')
    const { pod } = inject(before)
    expect(pod.spec.containers).toEqual(before.spec.containers)
    expect(pod.spec.initContainers[0].name).toBe('kafka-sidecar')
  })

  it('gives every app container the variable, and honours another variable name', () => {
    const pod0 = fixture('plain')
    pod0.spec.containers.push({ name: 'worker', image: 'ghcr.io/example/worker:1' })
    pod0.metadata.annotations = { 'kafka-sidecar.io/bootstrap-env': 'BROKERS' }
    const { pod } = inject(pod0)
    for (const c of pod.spec.containers) expect(envOf(c), c.name).toEqual({ BROKERS: 'localhost:9092' })
  })

  it('reads the per-pod annotations: config, upstream, log level, resources, TLS Secret, admin exposure', () => {
    const { pod } = inject(fixture('annotated'))
    const sidecar = pod.spec.initContainers[0]
    expect(envOf(sidecar)).toEqual({
      KAFKA_SIDECAR_LISTEN: '127.0.0.1:9092',
      KAFKA_SIDECAR_ADMIN: '0.0.0.0:9644',
      KAFKA_SIDECAR_HEALTH_PORT: '9645',
      KAFKA_SIDECAR_UPSTREAM: 'kafka-0.kafka:9092,kafka-1.kafka:9092',
      KAFKA_SIDECAR_LOG_LEVEL: 'debug',
      KAFKA_SIDECAR_CONFIG: '/etc/kafka-sidecar/config.yaml',
    })
    expect(sidecar.resources).toEqual({ requests: { cpu: '100m', memory: '128Mi' }, limits: { memory: '512Mi' } })
    expect(sidecar.ports.map((p: Pod) => p.name)).toEqual(['ksc-health', 'ksc-admin'])
    expect(pod.spec.volumes).toEqual([
      { name: 'kafka-sidecar-config', configMap: { name: 'web-sidecar' } },
      { name: 'kafka-sidecar-tls', secret: { secretName: 'web-kafka-tls' } },
    ])
    expect(sidecar.volumeMounts).toEqual([
      { name: 'kafka-sidecar-config', mountPath: '/etc/kafka-sidecar', readOnly: true },
      { name: 'kafka-sidecar-tls', mountPath: '/var/run/kafka-sidecar/tls', readOnly: true },
    ])
    // Both app containers of the pod (nginx and the exporter) get the variable.
    expect(pod.spec.containers.map((c: Pod) => envOf(c).KAFKA_BOOTSTRAP_SERVERS)).toEqual([
      'localhost:9092',
      'localhost:9092',
    ])
  })

  it('with a config file and no upstream annotation, leaves the upstream and log level to the file', () => {
    const pod0 = fixture('plain')
    pod0.metadata.annotations = { 'kafka-sidecar.io/config': 'orders-sidecar' }
    const env = envOf(inject(pod0).pod.spec.initContainers[0])
    expect(env.KAFKA_SIDECAR_UPSTREAM).toBeUndefined()
    expect(env.KAFKA_SIDECAR_LOG_LEVEL).toBeUndefined()
    expect(env.KAFKA_SIDECAR_CONFIG).toBe('/etc/kafka-sidecar/config.yaml')
  })

  it('mounts cert-manager csi-driver and csi-driver-spiffe volumes; listen TLS sets the listener variables', () => {
    const csi = inject(fixture('cert-manager-csi')).pod
    expect(csi.spec.volumes[0]).toMatchObject({
      name: 'kafka-sidecar-tls',
      csi: {
        driver: 'csi.cert-manager.io',
        readOnly: true,
        volumeAttributes: {
          'csi.cert-manager.io/issuer-name': 'mesh-ca',
          'csi.cert-manager.io/issuer-kind': 'ClusterIssuer',
        },
      },
    })
    expect(envOf(csi.spec.initContainers[0])).toMatchObject({
      KAFKA_SIDECAR_TLS_CERT: '/var/run/kafka-sidecar/tls/tls.crt',
      KAFKA_SIDECAR_TLS_KEY: '/var/run/kafka-sidecar/tls/tls.key',
      KAFKA_SIDECAR_TLS_CLIENT_CA: '/var/run/kafka-sidecar/tls/ca.crt',
    })
    const spiffe = inject(fixture('spiffe-csi')).pod
    expect(spiffe.spec.volumes).toContainEqual({
      name: 'kafka-sidecar-tls',
      csi: { driver: 'spiffe.csi.cert-manager.io', readOnly: true },
    })
    expect(envOf(spiffe.spec.initContainers[0]).KAFKA_SIDECAR_TLS_CERT).toBeUndefined() // upstream: the file names it
  })
})

describe('mutatePod: regular container (clusters before 1.29, or native-sidecar: "false")', () => {
  it('adds the sidecar as the first container, held until healthy by postStart, with a preStop head start', () => {
    const { pod, mutation } = inject(fixture('with-env'), LEGACY)
    expect(pod.spec.initContainers).toBeUndefined()
    const [sidecar, app] = pod.spec.containers
    expect(sidecar.name).toBe('kafka-sidecar')
    expect(sidecar.restartPolicy).toBeUndefined()
    expect(sidecar.lifecycle.postStart.exec.command).toEqual([
      'node',
      '/app/dist/src/cli.js',
      'healthcheck',
      '--wait',
      '60',
    ])
    expect(sidecar.lifecycle.preStop.exec.command).toEqual(['sleep', '5'])
    expect(app.name).toBe('orders')
    expect(app.env.map((e: Pod) => e.name)).toEqual(['KAFKA_BOOTSTRAP_SERVERS', 'LOG_LEVEL', 'TZ'])
    // kubectl logs/exec keep defaulting to the app.
    expect(pod.metadata.annotations['kubectl.kubernetes.io/default-container']).toBe('orders')
    expect(mutation.warnings).toEqual([])
  })

  it('a pod annotation chooses the mode either way', () => {
    const p = fixture('plain')
    p.metadata.annotations = { 'kafka-sidecar.io/native-sidecar': 'false' }
    expect(inject(p).pod.spec.containers[0].name).toBe('kafka-sidecar')
    p.metadata.annotations = { 'kafka-sidecar.io/native-sidecar': 'true' }
    expect(inject(p, LEGACY).pod.spec.initContainers[0].name).toBe('kafka-sidecar')
  })

  it('warns that a Job pod would not complete with a regular sidecar container', () => {
    const { mutation } = inject(fixture('job'), LEGACY)
    expect(mutation.warnings).toHaveLength(1)
    expect(mutation.warnings[0]).toContain('restartPolicy Never')
    // The API server may truncate warnings over 256 characters (k8s.io/api admission/v1 AdmissionResponse.warnings).
    expect(mutation.warnings[0]!.length).toBeLessThanOrEqual(256)
    expect(inject(fixture('job')).mutation.warnings).toEqual([])
  })
})

describe('mutatePod: idempotence', () => {
  const shapes = ['plain', 'with-env', 'init-containers', 'sets-bootstrap', 'annotated', 'job', 'spiffe-csi']
  for (const config of [CONFIG, LEGACY]) {
    for (const shape of shapes) {
      it(`${shape} (${config.sidecar.nativeSidecar ? 'native' : 'container'}): the second pass is an empty patch`, () => {
        const once = inject(fixture(shape), config).pod
        const twice = mutatePod(once, config, OPTIONS)
        expect(twice.outcome).toBe('already-injected')
        expect(twice.patch).toEqual([])
      })
    }
  }

  it('a reinvocation after another webhook added a container gives that container the variable only', () => {
    const once = inject(fixture('plain')).pod
    once.spec.containers.push({ name: 'mesh-proxy', image: 'proxy:1' })
    const again = mutatePod(once, CONFIG, OPTIONS)
    expect(again.patch).toEqual([
      {
        op: 'add',
        path: '/spec/containers/1/env',
        value: [{ name: 'KAFKA_BOOTSTRAP_SERVERS', value: 'localhost:9092' }],
      },
    ])
  })

  it('a pod that already has a container named kafka-sidecar gets no second one', () => {
    const p = fixture('plain')
    p.spec.containers.push({ name: 'kafka-sidecar', image: 'mine:1' })
    const { pod, mutation } = inject(p)
    expect(mutation.outcome).toBe('already-injected')
    expect(pod.spec.initContainers).toBeUndefined()
  })
})

describe('mutatePod: opting in and out', () => {
  it('an opted-out pod is left alone, by annotation or label', () => {
    expect(mutatePod(fixture('opted-out'), CONFIG, OPTIONS)).toEqual({
      outcome: 'skip-opted-out',
      patch: [],
      warnings: [],
    })
    const labelled = fixture('plain')
    labelled.metadata.labels['kafka-sidecar.io/inject'] = 'false'
    expect(mutatePod(labelled, CONFIG, OPTIONS).outcome).toBe('skip-opted-out')
  })

  it('on the annotation route, only pods annotated inject: "true" are injected', () => {
    const optIn = { ...OPTIONS, requireOptIn: true }
    expect(mutatePod(fixture('plain'), CONFIG, optIn).outcome).toBe('skip-not-opted-in')
    const p = fixture('plain')
    p.metadata.annotations = { 'kafka-sidecar.io/inject': 'true' }
    expect(mutatePod(p, CONFIG, optIn).outcome).toBe('injected')
  })

  it('skips hostNetwork pods with a warning (the sidecar would listen on the node)', () => {
    const p = fixture('plain')
    p.spec.hostNetwork = true
    const m = mutatePod(p, CONFIG, OPTIONS)
    expect(m.outcome).toBe('skip-host-network')
    expect(m.patch).toEqual([])
    expect(m.warnings[0]).toContain('hostNetwork')
  })
})

describe('mutatePod: refusals', () => {
  const refusal = (pod: unknown, config = CONFIG) => {
    try {
      mutatePod(pod, config, OPTIONS)
    } catch (err) {
      expect(err).toBeInstanceOf(PodInjectionError)
      return err as PodInjectionError
    }
    throw new Error('expected a refusal')
  }

  it('names every bad annotation at once, with the fix', () => {
    const err = refusal(fixture('bad-annotations'))
    expect(err.code).toBe('KSC_ERR_INJECT_POD')
    expect(err.problems.map((p) => p.field)).toEqual([
      'metadata.annotations["kafka-sidecar.io/upstrem"]',
      'metadata.annotations["kafka-sidecar.io/log-level"]',
      'metadata.annotations["kafka-sidecar.io/memory-limit"]',
    ])
    expect(err.message).toContain('unknown kafka-sidecar annotation (did you mean kafka-sidecar.io/upstream?)')
    expect(err.message).toContain('"loud" is not one of trace, debug, info, warn, error, fatal, silent')
    expect(err.message).toContain('"lots" is not a Kubernetes quantity (e.g. 128Mi or 1Gi)')
  })

  it('refuses a pod with no upstream anywhere, saying where to set one', () => {
    const noUpstream = { ...CONFIG, sidecar: { ...CONFIG.sidecar, upstream: '' } }
    const err = refusal(fixture('plain'), noUpstream)
    expect(err.message).toContain('kafka-sidecar.io/upstream')
    expect(err.message).toContain('sidecar.upstream')
  })

  it('refuses objects that are not pods, naming the field', () => {
    expect(refusal(null).problems[0]!.field).toBe('request.object')
    expect(refusal({ kind: 'Pod', metadata: {}, spec: {} }).problems[0]!.field).toBe('spec.containers')
    expect(refusal({ kind: 'Service', spec: { containers: [{}] } }).problems[0]!.field).toBe('request.object.kind')
    const p = fixture('plain')
    p.metadata.annotations = { 'kafka-sidecar.io/upstream': 7 }
    expect(refusal(p).problems[0]!.field).toBe('metadata.annotations')
  })
})

describe('pointer', () => {
  it('escapes ~ and / as RFC 6901 says', () => {
    expect(pointer('metadata', 'annotations', 'kafka-sidecar.io/status')).toBe(
      '/metadata/annotations/kafka-sidecar.io~1status',
    )
    expect(pointer('a~b', 0)).toBe('/a~0b/0')
  })
})
