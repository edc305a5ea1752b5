import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parseAllDocuments } from 'yaml'
import { allocatePorts } from '../harness/free-port.js'
import { type ApiServer, KUBERNETES_VERSION, kubeApiserver, startApiServer } from '../harness/kube-apiserver.js'
import { goMissing, goTool, HELM } from '../harness/registry-tools.js'
import { runCommand } from '../harness/run-command.js'
import { ensureSystemTools, onPath } from '../harness/system-tools.js'
import { waitFor } from '../harness/wait-for.js'
import { createCa, issue } from '../support/openssl-pki.js'

/**
 * End to end with a real API server (test/harness/kube-apiserver.ts): the chart's manifests applied with strict
 * server-side validation, its MutatingWebhookConfiguration pointing at `kafka-sidecar inject-webhook` running here
 * (webhook.url, as the chart allows for an injector outside the cluster), and pods created with kubectl. The API
 * server calls the webhook, applies the patch, validates and stores the pod: what is stored is what a kubelet would
 * run. Then the injector is stopped: opted-in namespaces refuse pods (failurePolicy Fail), kube-system does not.
 *
 * Opt-in, because building kube-apiserver takes many minutes the first time: KAFKA_TEST_K8S_E2E=1 (needs Go,
 * kubectl, openssl, and etcd from Debian's etcd-server, which the test installs as root).
 */

const ENABLED = process.env.KAFKA_TEST_K8S_E2E === '1'
const skipReason = !ENABLED
  ? 'set KAFKA_TEST_K8S_E2E=1 to run it (builds kube-apiserver through the Go module proxy)'
  : (goMissing() ?? (onPath('kubectl') ? undefined : 'kubectl is not installed'))
if (skipReason !== undefined) process.stderr.write(`skipping the Kubernetes end-to-end injection test: ${skipReason}\n`)

const CLI = new URL('../../dist/src/cli.js', import.meta.url).pathname
const CHART = new URL('../../helm/kafka-sidecar', import.meta.url).pathname
const FIXTURES = new URL('../inject/fixtures/', import.meta.url)
const RELEASE_NS = 'kafka-sidecar'

// biome-ignore lint/suspicious/noExplicitAny: Kubernetes objects as JSON.
type Json = any

describe.skipIf(skipReason !== undefined)(
  `sidecar injection through a real kube-apiserver ${KUBERNETES_VERSION}`,
  () => {
    const dir = mkdtempSync(join(tmpdir(), 'ksc-k8s-e2e-'))
    let api: ApiServer
    let injector: ChildProcess
    let injectorArgs: string[]
    const injectorLog: string[] = []

    const kubectl = async (args: string[], input?: string) => {
      const r = await runCommand('kubectl', args, {
        env: { ...process.env, KUBECONFIG: api.kubeconfig },
        ...(input !== undefined ? { input } : {}),
        timeoutMs: 60_000,
      })
      return { code: r.code, out: r.stdout, err: r.stderr }
    }
    const kubectlOk = async (args: string[], input?: string) => {
      const r = await kubectl(args, input)
      expect(r.code, `kubectl ${args.join(' ')}: ${r.err}`).toBe(0)
      return r.out
    }

    function startInjector(): void {
      injector = spawn(process.execPath, injectorArgs, { stdio: ['ignore', 'pipe', 'pipe'] })
      injector.stdout!.setEncoding('utf8').on('data', (d: string) => injectorLog.push(d))
      injector.stderr!.setEncoding('utf8').on('data', (d: string) => injectorLog.push(d))
    }

    beforeAll(async () => {
      const say = (line: string) => process.stderr.write(`[k8s e2e] ${line}\n`)
      await ensureSystemTools({
        tools: [{ command: 'etcd', debianPackage: 'etcd-server', usedFor: 'the API server store' }],
        log: say,
      })
      const helm = await goTool(HELM, say)
      api = await startApiServer(await kubeApiserver(say), join(dir, 'cluster'))

      const [port] = (await allocatePorts('127.0.0.1', 1)) as [number]
      const ca = createCa(join(dir, 'pki'), 'injector-ca')
      const serving = issue(ca, { cn: '127.0.0.1', san: ['IP:127.0.0.1'], usage: 'server' })
      const rendered = await runCommand(helm, [
        'template',
        'ksc',
        CHART,
        '--namespace',
        RELEASE_NS,
        '--kube-version',
        KUBERNETES_VERSION.slice(1),
        '--set',
        `webhook.url=https://127.0.0.1:${port}`,
        '--set',
        'webhook.tls.mode=secret',
        '--set',
        'webhook.tls.secret.name=injector-tls',
        '--set',
        `webhook.tls.secret.caBundle=${Buffer.from(readFileSync(ca.cert)).toString('base64')}`,
        '--set',
        'sidecar.upstream=kafka-bootstrap.kafka:9092',
        '--set',
        'sidecar.image.repository=registry.example/kafka-sidecar',
      ])
      expect(rendered.code, rendered.stderr).toBe(0)
      const manifests = join(dir, 'chart.yaml')
      writeFileSync(manifests, rendered.stdout)
      // The injector runs here with the settings the chart rendered for it.
      const cm = parseAllDocuments(rendered.stdout)
        .map((d) => d.toJSON())
        .find((d) => d?.kind === 'ConfigMap' && d.data?.['injector.yaml'] !== undefined)
      const config = join(dir, 'injector.yaml')
      writeFileSync(config, cm.data['injector.yaml'])
      injectorArgs = [
        CLI,
        'inject-webhook',
        '--config',
        config,
        '--tls-cert',
        serving.cert,
        '--tls-key',
        serving.key,
        '--listen',
        `127.0.0.1:${port}`,
      ]
      startInjector()
      await waitFor('the injector', () => injectorLog.join('').includes('sidecar injector listening'), {
        timeoutMs: 60_000,
      })

      await kubectlOk(['create', 'namespace', RELEASE_NS])
      // Every object the chart renders, validated strictly by the API server itself.
      await kubectlOk(['apply', '--server-side', '--validate=strict', '-f', manifests])
      for (const ns of ['shop', 'other']) await kubectlOk(['create', 'namespace', ns])
      await kubectlOk(['label', 'namespace', 'shop', 'kafka-sidecar.io/injection=enabled'])
      // Trying to opt the system namespaces in changes nothing: the webhook never sees them.
      for (const ns of ['kube-system', RELEASE_NS])
        await kubectlOk(['label', 'namespace', ns, 'kafka-sidecar.io/injection=enabled'])
      // The ServiceAccount admission plugin wants each namespace's default account (a controller would make it).
      for (const ns of ['shop', 'other', 'kube-system', RELEASE_NS]) {
        await kubectl(['-n', ns, 'create', 'serviceaccount', 'default'])
      }
    }, 120 * 60_000)

    afterAll(async () => {
      if (injector !== undefined && injector.exitCode === null) {
        injector.kill('SIGKILL')
        await once(injector, 'exit')
      }
      await api?.stop()
    })

    /** Creates a pod from a fixture in `ns`, with optional labels and annotations; returns the stored pod. */
    async function createPod(
      ns: string,
      fixture: string,
      labels: Record<string, string> = {},
      annotations: Record<string, string> = {},
    ) {
      const pod = JSON.parse(readFileSync(new URL(`pod-${fixture}.json`, FIXTURES), 'utf8'))
      pod.metadata.namespace = ns
      pod.metadata.labels = { ...pod.metadata.labels, ...labels }
      pod.metadata.annotations = { ...pod.metadata.annotations, ...annotations }
      const r = await kubectl(['create', '-f', '-', '-o', 'json'], JSON.stringify(pod))
      return { code: r.code, err: r.err, pod: r.code === 0 ? (JSON.parse(r.out) as Json) : undefined }
    }

    const injected = (pod: Json) =>
      [...(pod.spec.initContainers ?? []), ...pod.spec.containers].some((c: Json) => c.name === 'kafka-sidecar')

    it('injects pods of an opted-in namespace: native sidecar, bootstrap variable, defaults applied by the API server', async () => {
      const { pod, err } = await createPod('shop', 'with-env')
      expect(err).toBe('')
      const sidecar = pod.spec.initContainers[0]
      expect(sidecar.name).toBe('kafka-sidecar')
      expect(sidecar.restartPolicy).toBe('Always')
      expect(sidecar.image).toBe('registry.example/kafka-sidecar:0.1.0')
      expect(sidecar.terminationMessagePath).toBe('/dev/termination-log') // defaulted by the API server after the patch
      expect(pod.spec.containers[0].env.map((e: Json) => e.name)).toEqual([
        'KAFKA_BOOTSTRAP_SERVERS',
        'LOG_LEVEL',
        'TZ',
      ])
      expect(pod.metadata.labels['kafka-sidecar.io/injected']).toBe('true')
      expect(JSON.parse(pod.metadata.annotations['kafka-sidecar.io/status']).mode).toBe('native-sidecar')
    })

    it('never injects kube-system or the injector namespace, even labelled; honours opt-outs', async () => {
      expect(injected((await createPod('kube-system', 'plain')).pod)).toBe(false)
      expect(injected((await createPod(RELEASE_NS, 'plain')).pod)).toBe(false)
      expect(injected((await createPod('shop', 'plain', { 'kafka-sidecar.io/inject': 'false' })).pod)).toBe(false)
      expect(injected((await createPod('shop', 'opted-out')).pod)).toBe(false)
    })

    it('in other namespaces, injects only pods labelled kafka-sidecar.io/inject=true', async () => {
      expect(injected((await createPod('other', 'plain')).pod)).toBe(false)
      expect(injected((await createPod('other', 'plain', { 'kafka-sidecar.io/inject': 'true' })).pod)).toBe(true)
    })

    it('refuses a pod with bad annotations, with the reason in kubectl', async () => {
      const r = await createPod('shop', 'bad-annotations')
      expect(r.code).not.toBe(0)
      expect(r.err).toContain('denied the request')
      expect(r.err).toContain('did you mean kafka-sidecar.io/upstream?')
    })

    it('with the injector down: opted-in namespaces refuse pods (failurePolicy Fail), the system namespaces do not', async () => {
      injector.kill('SIGTERM')
      await once(injector, 'exit')
      const refused = await createPod('shop', 'plain')
      expect(refused.code).not.toBe(0)
      expect(refused.err).toMatch(/failed calling webhook "namespace\.inject\.kafka-sidecar\.io"/)
      expect((await createPod('kube-system', 'plain')).code).toBe(0)
      expect((await createPod('other', 'plain')).code).toBe(0)
      startInjector()
      await waitFor('the injector again', () => injectorLog.join('').split('sidecar injector listening').length > 2, {
        timeoutMs: 60_000,
      })
      expect(injected((await createPod('shop', 'plain')).pod)).toBe(true)
    })
  },
)
