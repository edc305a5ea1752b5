import { X509Certificate } from 'node:crypto'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { parseAllDocuments, parse as parseYaml } from 'yaml'
import { validateInjectorConfig } from '../../src/inject/injector-config.js'
import { mutatePod } from '../../src/inject/pod-patch.js'
import {
  goMissing,
  goTool,
  HELM,
  KUBERNETES_VALIDATE,
  type PythonRunner,
  pythonMissing,
  pythonTool,
} from '../harness/registry-tools.js'
import { runCommand } from '../harness/run-command.js'
import { applyPatch } from '../support/json-patch.js'
import { validateObjects } from '../support/kube-validate.js'

/**
 * The chart (helm/kafka-sidecar) through helm itself (`go install`ed by the test run): lint, render for the default
 * values and for a full-featured values file (ci/full-values.yaml), validate every rendered object against the
 * Kubernetes JSON schemas offline (kubernetes-validate, strict), and check what the operator relies on: the system
 * namespaces can never reach the webhook, the CA bundle is the CA of the serving certificate, the injector's
 * settings are ones the injector accepts, and the values schema refuses mistakes with their path.
 */

const CHART = new URL('../../helm/kafka-sidecar', import.meta.url).pathname
const FULL_VALUES = join(CHART, 'ci/full-values.yaml')
const NAMESPACE = 'kafka-sidecar'
const SYSTEM = ['kube-system', 'kube-public', 'kube-node-lease', NAMESPACE]

const skipReason = goMissing() ?? pythonMissing()
if (skipReason !== undefined) {
  process.stderr.write(`skipping the Helm chart tests: ${skipReason}; install it to run them\n`)
}

// biome-ignore lint/suspicious/noExplicitAny: rendered manifests are plain YAML documents.
type Doc = any

describe.skipIf(skipReason !== undefined)('Helm chart helm/kafka-sidecar', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ksc-chart-'))
  let helm: string
  let validator: PythonRunner

  beforeAll(async () => {
    const say = (line: string) => process.stderr.write(`[helm chart test] ${line}\n`)
    helm = await goTool(HELM, say)
    validator = await pythonTool(KUBERNETES_VALIDATE, say)
  }, 45 * 60_000)

  async function helmRun(args: string[]) {
    return runCommand(helm, args, {
      env: { ...process.env, HELM_CACHE_HOME: join(dir, 'cache'), HELM_CONFIG_HOME: join(dir, 'config') },
    })
  }

  /** `helm template` to a file; the documents, and the file for the schema check. */
  async function render(name: string, args: string[]): Promise<{ docs: Doc[]; file: string }> {
    const r = await helmRun(['template', 'ksc', CHART, '--namespace', NAMESPACE, ...args])
    expect(r.code, r.stderr).toBe(0)
    const file = join(dir, `${name}.yaml`)
    writeFileSync(file, r.stdout)
    const docs = parseAllDocuments(r.stdout)
      .map((d) => d.toJSON())
      .filter((d) => d !== null)
    return { docs, file }
  }

  const find = (docs: Doc[], kind: string, nameEnd = '') =>
    docs.filter((d) => d.kind === kind && String(d.metadata.name).endsWith(nameEnd))

  it('lints clean (strict) with the default and the full-featured values', async () => {
    for (const args of [[], ['-f', FULL_VALUES]]) {
      const r = await helmRun(['lint', '--strict', CHART, ...args])
      expect(r.code, r.stdout + r.stderr).toBe(0)
      expect(r.stdout).toContain('1 chart(s) linted, 0 chart(s) failed')
    }
  })

  it('default values: the injector, its TLS from Helm, a webhook that cannot lock out the system namespaces', async () => {
    const { docs, file } = await render('default', ['--kube-version', '1.33.0'])
    expect(docs.map((d) => d.kind).sort()).toEqual([
      'ConfigMap',
      'ConfigMap',
      'Deployment',
      'MutatingWebhookConfiguration',
      'PodDisruptionBudget',
      'Secret',
      'Service',
      'ServiceAccount',
    ])
    const report = await validateObjects(validator, [file], ['1.25', '1.29', '1.37'])
    expect(report.errors).toEqual([])
    expect(report.unknownKinds).toEqual([])
    expect(report.passed).toHaveLength(docs.length * 3)

    const [mwc] = find(docs, 'MutatingWebhookConfiguration')
    expect(mwc.webhooks.map((w: Doc) => w.name)).toEqual([
      'namespace.inject.kafka-sidecar.io',
      'pod.inject.kafka-sidecar.io',
    ])
    for (const w of mwc.webhooks) {
      expect(w.admissionReviewVersions).toEqual(['v1'])
      expect(w.sideEffects).toBe('None')
      expect(w.failurePolicy).toBe('Fail')
      expect(w.rules).toEqual([
        { operations: ['CREATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['pods'], scope: 'Namespaced' },
      ])
      expect(w.namespaceSelector.matchExpressions).toContainEqual({
        key: 'kubernetes.io/metadata.name',
        operator: 'NotIn',
        values: SYSTEM,
      })
      expect(w.clientConfig.service).toEqual({
        name: 'ksc-kafka-sidecar-injector',
        namespace: NAMESPACE,
        path: '/inject',
        port: 443,
      })
    }
    expect(mwc.webhooks[0].namespaceSelector.matchExpressions).toContainEqual({
      key: 'kafka-sidecar.io/injection',
      operator: 'In',
      values: ['enabled'],
    })
    expect(mwc.webhooks[1].objectSelector).toEqual({ matchLabels: { 'kafka-sidecar.io/inject': 'true' } })

    // The CA bundle is the CA that issued the serving certificate, which names the Service.
    const [secret] = find(docs, 'Secret')
    const pem = (k: string) => Buffer.from(secret.data[k], 'base64').toString()
    const ca = new X509Certificate(pem('ca.crt'))
    const serving = new X509Certificate(pem('tls.crt'))
    expect(serving.checkIssued(ca)).toBe(true)
    expect(serving.verify(ca.publicKey)).toBe(true)
    expect(serving.subjectAltName).toContain('DNS:ksc-kafka-sidecar-injector.kafka-sidecar.svc')
    for (const w of mwc.webhooks) expect(w.clientConfig.caBundle).toBe(secret.data['ca.crt'])

    const [deployment] = find(docs, 'Deployment')
    const pod = deployment.spec.template.spec
    expect(pod.automountServiceAccountToken).toBe(false)
    expect(pod.securityContext.runAsNonRoot).toBe(true)
    expect(pod.containers[0].args[0]).toBe('inject-webhook')
    expect(pod.containers[0].securityContext.readOnlyRootFilesystem).toBe(true)
    expect(pod.volumes.find((v: Doc) => v.name === 'tls').secret.secretName).toBe(secret.metadata.name)
    expect(deployment.spec.template.metadata.labels['kafka-sidecar.io/inject']).toBe('false')

    // The dashboard, byte for byte, for Grafana's sidecar.
    const [dashboard] = find(docs, 'ConfigMap', '-dashboard')
    expect(dashboard.metadata.labels.grafana_dashboard).toBe('1')
    expect(dashboard.data['kafka-sidecar-dashboard.json']).toBe(
      readFileSync(join(CHART, 'dashboards/kafka-sidecar-dashboard.json'), 'utf8').trimEnd(),
    )
  })

  it('the injector settings it renders are accepted by the injector; native sidecars follow the cluster version', async () => {
    const settings = async (args: string[]) => {
      const { docs } = await render('settings', args)
      const [cm] = find(docs, 'ConfigMap', '-injector')
      const { config, problems } = validateInjectorConfig(parseYaml(cm.data['injector.yaml']))
      expect(problems).toEqual([])
      return config!
    }
    expect((await settings(['--kube-version', '1.29.0'])).sidecar.nativeSidecar).toBe(true)
    expect((await settings(['--kube-version', '1.28.4'])).sidecar.nativeSidecar).toBe(false)
    expect(
      (await settings(['--kube-version', '1.28.4', '--set', 'sidecar.nativeSidecar=true'])).sidecar.nativeSidecar,
    ).toBe(true)
    const full = await settings(['-f', FULL_VALUES, '--kube-version', '1.33.0'])
    expect(full.sidecar).toMatchObject({
      image: 'registry.example.com/platform/kafka-sidecar:0.1.0',
      upstream: 'kafka-0.kafka.kafka:9092,kafka-1.kafka.kafka:9092',
      exposeAdmin: true,
      resources: { requests: { cpu: '100m', memory: '160Mi' }, limits: { cpu: '1', memory: '320Mi' } },
    })
    expect(full.injection).toEqual({ bootstrapEnv: 'KAFKA_BROKERS', bootstrapServers: 'localhost:9092' })
  })

  it('full values: cert-manager TLS, the annotation route (Ignore), monitors, extra exclusions; valid manifests', async () => {
    const { docs, file } = await render('full', [
      '-f',
      FULL_VALUES,
      '--kube-version',
      '1.33.0',
      '--api-versions',
      'cert-manager.io/v1',
      '--api-versions',
      'monitoring.coreos.com/v1',
    ])
    const report = await validateObjects(validator, [file], ['1.29', '1.37'])
    expect(report.errors).toEqual([])
    // Custom resources have no schema in the Kubernetes set: cert-manager's and Prometheus Operator's.
    const custom = docs.filter((d) => /cert-manager|monitoring\.coreos/.test(d.apiVersion)).map((d) => d.kind)
    expect(custom.sort()).toEqual(['Certificate', 'Certificate', 'Issuer', 'Issuer', 'PodMonitor', 'ServiceMonitor'])
    expect(report.unknownKinds).toHaveLength(custom.length * 2)
    expect(report.passed).toHaveLength((docs.length - custom.length) * 2)
    expect(find(docs, 'Secret')).toEqual([]) // cert-manager writes it

    const [mwc] = find(docs, 'MutatingWebhookConfiguration')
    expect(mwc.metadata.annotations['cert-manager.io/inject-ca-from']).toBe(
      `${NAMESPACE}/ksc-kafka-sidecar-injector-serving`,
    )
    expect(
      mwc.webhooks.map((w: Doc) => [w.name, w.failurePolicy, w.clientConfig.service.path, w.clientConfig.caBundle]),
    ).toEqual([
      ['namespace.inject.kafka-sidecar.io', 'Fail', '/inject', undefined],
      ['pod.inject.kafka-sidecar.io', 'Fail', '/inject', undefined],
      ['annotation.inject.kafka-sidecar.io', 'Ignore', '/inject-annotated', undefined],
    ])
    for (const w of mwc.webhooks) {
      expect(w.timeoutSeconds).toBe(3)
      expect(w.namespaceSelector.matchExpressions[0]).toEqual({
        key: 'kubernetes.io/metadata.name',
        operator: 'NotIn',
        values: [...SYSTEM, 'monitoring', 'cert-manager'],
      })
    }
    const [serving] = find(docs, 'Certificate', '-serving')
    expect(serving.spec.secretName).toBe('ksc-kafka-sidecar-injector-tls')
    expect(serving.spec.dnsNames).toContain('ksc-kafka-sidecar-injector.kafka-sidecar.svc')
    const [podMonitor] = find(docs, 'PodMonitor')
    expect(podMonitor.spec.selector).toEqual({ matchLabels: { 'kafka-sidecar.io/injected': 'true' } })
    expect(podMonitor.spec.podMetricsEndpoints[0]).toMatchObject({
      port: 'ksc-admin',
      path: '/metrics',
      interval: '15s',
    })
    expect(podMonitor.metadata.labels.release).toBe('prometheus')
    const [dashboard] = find(docs, 'ConfigMap', '-dashboard')
    expect(dashboard.metadata.namespace).toBe('monitoring')
  })

  it('a pod injected with the rendered settings validates, and its admin port is what the PodMonitor scrapes', async () => {
    const { docs } = await render('full-inject', ['-f', FULL_VALUES, '--kube-version', '1.33.0'])
    const [cm] = find(docs, 'ConfigMap', '-injector')
    const config = validateInjectorConfig(parseYaml(cm.data['injector.yaml'])).config!
    const pod = JSON.parse(readFileSync(new URL('../inject/fixtures/pod-plain.json', import.meta.url), 'utf8'))
    const patched = applyPatch(pod, mutatePod(pod, config, { requireOptIn: false, version: '0.1.0' }).patch)
    patched.metadata.name = 'orders-5k2xd'
    const podFile = join(dir, 'injected.json')
    writeFileSync(podFile, JSON.stringify(patched))
    const report = await validateObjects(validator, [podFile], ['1.29', '1.37'])
    expect(report.errors).toEqual([])
    expect(report.passed).toHaveLength(2)
    expect(patched.spec.initContainers[0].ports.map((p: Doc) => p.name)).toContain('ksc-admin')
    expect(patched.metadata.labels['kafka-sidecar.io/injected']).toBe('true')
  })

  it('webhook.url: the Helm certificate names the URL host', async () => {
    const { docs } = await render('url', ['--set', 'webhook.url=https://127.0.0.1:18443'])
    const [mwc] = find(docs, 'MutatingWebhookConfiguration')
    expect(mwc.webhooks[0].clientConfig.url).toBe('https://127.0.0.1:18443/inject')
    const [secret] = find(docs, 'Secret')
    const serving = new X509Certificate(Buffer.from(secret.data['tls.crt'], 'base64'))
    expect(serving.subjectAltName).toContain('IP Address:127.0.0.1')
  })

  it('refuses values that would not work, naming the value', async () => {
    const refused = async (args: string[]) => {
      const r = await helmRun(['template', 'ksc', CHART, '--namespace', NAMESPACE, ...args])
      expect(r.code).not.toBe(0)
      return r.stderr
    }
    expect(await refused(['--set', 'webhook.failurePolicy=Sometimes'])).toContain('/webhook/failurePolicy')
    expect(await refused(['--set', 'webhook.failurPolicy=Fail'])).toContain('failurPolicy')
    expect(await refused(['--set', 'sidecar.upstream=kafka'])).toContain('/sidecar/upstream')
    expect(await refused(['--set', 'sidecar.resources.limits.memory=lots'])).toContain(
      '/sidecar/resources/limits/memory',
    )
    expect(await refused(['--set', 'webhook.excludeNamespaces[0]=Not_A_Namespace'])).toContain(
      '/webhook/excludeNamespaces/0',
    )
    expect(await refused(['--set', 'webhook.tls.mode=secret'])).toContain('webhook.tls.secret.name is required')
    expect(await refused(['--set', 'webhook.tls.mode=secret', '--set', 'webhook.tls.secret.name=mine'])).toContain(
      'webhook.tls.secret.caBundle',
    )
  })
})
