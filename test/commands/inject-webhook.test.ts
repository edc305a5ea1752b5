import { type ChildProcess, spawn, spawnSync } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import https from 'node:https'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { allocatePorts } from '../harness/free-port.js'
import {
  goMissing,
  goTool,
  JSON_PATCH,
  KUBERNETES_VALIDATE,
  type PythonRunner,
  pythonMissing,
  pythonTool,
} from '../harness/registry-tools.js'
import { runCommand } from '../harness/run-command.js'
import { waitFor } from '../harness/wait-for.js'
import { validateObjects } from '../support/kube-validate.js'
import { createCa, issue } from '../support/openssl-pki.js'

/**
 * `kafka-sidecar inject-webhook` as the API server meets it: a process serving HTTPS with a certificate for its
 * Service name, answering AdmissionReview v1 requests built around pods kubectl made (test/inject/fixtures). Each
 * patch is applied with the API server's own JSON-patch library (gopkg.in/evanphx/json-patch.v4, `go install`ed
 * by the test run) and the patched pods are validated against the Kubernetes JSON schemas (kubernetes-validate
 * from PyPI, strict: unknown fields are errors), for the releases each mode is meant for. Then the patched pods are
 * sent again: a second injection must change nothing. Malformed requests must get a clear answer and leave the
 * server running.
 */

const CLI = new URL('../../dist/src/cli.js', import.meta.url).pathname
const FIXTURES = new URL('../inject/fixtures/', import.meta.url)
const SERVICE_NAME = 'kafka-sidecar-injector.kafka-sidecar.svc'

const skipReason = goMissing() ?? pythonMissing()
if (skipReason !== undefined) {
  process.stderr.write(`skipping the injector process tests: ${skipReason}; install it to run them\n`)
}

// biome-ignore lint/suspicious/noExplicitAny: pods and reviews are JSON documents.
type Json = any

interface Answer {
  readonly status: number
  readonly body: Json
  readonly text: string
}

describe.skipIf(skipReason !== undefined)('kafka-sidecar inject-webhook, as a process', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ksc-inject-webhook-'))
  let jsonPatch: string
  let validator: PythonRunner
  let server: ChildProcess
  let port: number
  let ca: string
  let uid = 0
  const log: string[] = []

  beforeAll(async () => {
    const say = (line: string) => process.stderr.write(`[inject-webhook test] ${line}\n`)
    jsonPatch = await goTool(JSON_PATCH, say)
    validator = await pythonTool(KUBERNETES_VALIDATE, say)
    const authority = createCa(join(dir, 'pki'), 'injector-ca')
    const cert = issue(authority, { cn: SERVICE_NAME, san: [`DNS:${SERVICE_NAME}`], usage: 'server' })
    ca = readFileSync(authority.cert, 'utf8')
    const config = join(dir, 'injector.yaml')
    writeFileSync(
      config,
      'sidecar:\n  image: registry.example/kafka-sidecar:0.1.0\n  upstream: kafka-bootstrap.kafka:9092\n',
    )
    ;[port] = (await allocatePorts('127.0.0.1', 1)) as [number]
    server = spawn(
      process.execPath,
      [
        CLI,
        'inject-webhook',
        '--config',
        config,
        '--tls-cert',
        cert.cert,
        '--tls-key',
        cert.key,
        '--listen',
        `127.0.0.1:${port}`,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    )
    server.stdout!.setEncoding('utf8').on('data', (d: string) => log.push(...d.split('\n').filter((l) => l !== '')))
    server.stderr!.setEncoding('utf8').on('data', (d: string) => log.push(d))
    await waitFor(
      'the injector to listen',
      () => log.map((l) => safeJson(l)).find((l) => l?.msg?.startsWith('sidecar injector listening')),
      { timeoutMs: 60_000 },
    )
  }, 30 * 60_000)

  afterAll(async () => {
    if (server !== undefined && server.exitCode === null) {
      server.kill('SIGKILL')
      await once(server, 'exit')
    }
  })

  /** POSTs a body the way the API server does: HTTPS, the caBundle trusted, the Service name verified. */
  function post(path: string, body: string | Buffer, method = 'POST'): Promise<Answer> {
    return new Promise((resolve, reject) => {
      const req = https.request(
        {
          host: '127.0.0.1',
          port,
          path,
          method,
          ca,
          servername: SERVICE_NAME,
          headers: { 'content-type': 'application/json' },
        },
        (res) => {
          const chunks: Buffer[] = []
          res.on('data', (c: Buffer) => chunks.push(c))
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString()
            resolve({ status: res.statusCode ?? 0, body: safeJson(text), text })
          })
        },
      )
      req.on('error', reject)
      req.end(body)
    })
  }

  function reviewOf(pod: Json): { uid: string; body: string } {
    const id = `review-${++uid}`
    const request = {
      uid: id,
      kind: { group: '', version: 'v1', kind: 'Pod' },
      resource: { group: '', version: 'v1', resource: 'pods' },
      requestKind: { group: '', version: 'v1', kind: 'Pod' },
      requestResource: { group: '', version: 'v1', resource: 'pods' },
      namespace: pod.metadata.namespace,
      operation: 'CREATE',
      userInfo: { username: 'system:serviceaccount:kube-system:replicaset-controller' },
      object: pod,
      oldObject: null,
      dryRun: false,
      options: { apiVersion: 'meta.k8s.io/v1', kind: 'CreateOptions' },
    }
    return { uid: id, body: JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request }) }
  }

  /** Sends the pod, checks the answer is a valid v1 response to it, and returns the pod with the patch applied. */
  async function admit(pod: Json): Promise<{ patched: Json; response: Json }> {
    const review = reviewOf(pod)
    const answer = await post('/inject', review.body)
    expect(answer.status).toBe(200)
    expect(answer.body.apiVersion).toBe('admission.k8s.io/v1')
    expect(answer.body.kind).toBe('AdmissionReview')
    const response = answer.body.response
    expect(response.uid).toBe(review.uid)
    // VerifyAdmissionResponse: patch and patchType together or not at all.
    expect(response.patch === undefined).toBe(response.patchType === undefined)
    if (response.patch === undefined) return { patched: pod, response }
    expect(response.patchType).toBe('JSONPatch')
    const podFile = join(dir, `in-${review.uid}.json`)
    const patchFile = join(dir, `patch-${review.uid}.json`)
    writeFileSync(podFile, JSON.stringify(pod))
    writeFileSync(patchFile, Buffer.from(response.patch, 'base64'))
    const applied = await runCommand('sh', ['-c', `"${jsonPatch}" -p "${patchFile}" < "${podFile}"`])
    expect(applied.code, applied.stderr).toBe(0)
    return { patched: JSON.parse(applied.stdout), response }
  }

  const fixture = (name: string): Json => JSON.parse(readFileSync(new URL(`pod-${name}.json`, FIXTURES), 'utf8'))
  const legacy = (pod: Json): Json => {
    pod.metadata.annotations = { ...pod.metadata.annotations, 'kafka-sidecar.io/native-sidecar': 'false' }
    return pod
  }

  /** Writes a pod as the API server stores it (a generated name) for the schema check. */
  function stored(pod: Json, file: string): string {
    const named = structuredClone(pod)
    named.metadata.name ??= `${named.metadata.generateName}x7k2p`
    const path = join(dir, file)
    writeFileSync(path, JSON.stringify(named))
    return path
  }

  const SHAPES = [
    'plain',
    'with-env',
    'init-containers',
    'sets-bootstrap',
    'annotated',
    'cert-manager-csi',
    'spiffe-csi',
    'job',
  ]

  it('injects pods of every shape; the patched pods validate against the Kubernetes schemas; a second pass changes nothing', async () => {
    const native: string[] = []
    const regular: string[] = []
    for (const shape of SHAPES) {
      for (const mode of ['native', 'container'] as const) {
        const pod = mode === 'native' ? fixture(shape) : legacy(fixture(shape))
        const { patched, response } = await admit(pod)
        expect(response.allowed, `${shape} ${mode}`).toBe(true)
        const names = (mode === 'native' ? patched.spec.initContainers : patched.spec.containers).map(
          (c: Json) => c.name,
        )
        expect(names[0], `${shape} ${mode}`).toBe('kafka-sidecar')
        for (const c of patched.spec.containers.filter((c: Json) => c.name !== 'kafka-sidecar')) {
          const value = c.env.find((e: Json) => e.name === 'KAFKA_BOOTSTRAP_SERVERS')?.value
          expect(value, `${shape} ${mode} ${c.name}`).toBe(
            shape === 'sets-bootstrap' ? 'kafka.shop:9092' : 'localhost:9092',
          )
        }
        ;(mode === 'native' ? native : regular).push(stored(patched, `${shape}-${mode}.json`))
        // Sent again (a reinvocation, or a pod re-created from its own JSON): nothing to add.
        const again = await admit(patched)
        expect(again.response.allowed).toBe(true)
        expect(again.response.patch, `${shape} ${mode}: second pass`).toBeUndefined()
      }
    }
    // Native sidecars: on by default from 1.29 (SidecarContainers beta); 1.37 is the newest schema the package has.
    const nativeReport = await validateObjects(validator, native, ['1.29', '1.37'])
    expect(nativeReport.errors).toEqual([])
    expect(nativeReport.passed).toHaveLength(native.length * 2)
    // Regular containers: every release the package has a schema for, the oldest (1.25) included.
    const regularReport = await validateObjects(validator, regular, ['1.25', '1.37'])
    expect(regularReport.errors).toEqual([])
    expect(regularReport.passed).toHaveLength(regular.length * 2)
    // The schema check has teeth: before 1.28 an init container had no restartPolicy, so a native sidecar is
    // refused there (strict validation; a lenient API server would drop the field and the sidecar would block
    // the pod as an init container that never exits). This is why the mode is a chart/pod choice.
    const old = await validateObjects(validator, [native[0]!], ['1.27'])
    expect(old.errors.join('\n')).toContain("'restartPolicy' was unexpected")
  })

  it('leaves opted-out pods alone and refuses bad annotations with every problem named', async () => {
    const optedOut = await admit(fixture('opted-out'))
    expect(optedOut.response).toEqual({ uid: optedOut.response.uid, allowed: true })

    const review = reviewOf(fixture('bad-annotations'))
    const answer = await post('/inject', review.body)
    expect(answer.status).toBe(200)
    expect(answer.body.response.uid).toBe(review.uid)
    expect(answer.body.response.allowed).toBe(false)
    expect(answer.body.response.status.code).toBe(400)
    const message: string = answer.body.response.status.message
    expect(message).toContain(
      'kafka-sidecar.io/upstrem"]: unknown kafka-sidecar annotation (did you mean kafka-sidecar.io/upstream?)',
    )
    expect(message).toContain('kafka-sidecar.io/memory-limit"]: "lots" is not a Kubernetes quantity')
    expect(message).toContain('kafka-sidecar.io/log-level"]: "loud" is not one of')
  })

  it('on the annotation route injects only pods annotated kafka-sidecar.io/inject: "true"', async () => {
    const plain = reviewOf(fixture('plain'))
    expect((await post('/inject-annotated', plain.body)).body.response).toEqual({ uid: plain.uid, allowed: true })
    const pod = fixture('plain')
    pod.metadata.annotations = { 'kafka-sidecar.io/inject': 'true' }
    const opted = reviewOf(pod)
    expect((await post('/inject-annotated', opted.body)).body.response.patchType).toBe('JSONPatch')
  })

  it('answers malformed requests with a clear error and keeps serving', async () => {
    const cases: [string | Buffer, number, string][] = [
      ['not json', 400, 'KSC_ERR_INJECT_REVIEW_JSON'],
      [
        '{"apiVersion":"admission.k8s.io/v1beta1","kind":"AdmissionReview","request":{"uid":"x"}}',
        400,
        'KSC_ERR_INJECT_REVIEW_VERSION',
      ],
      ['{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview"}', 400, 'KSC_ERR_INJECT_REVIEW_SHAPE'],
      [
        '{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{}}',
        400,
        'KSC_ERR_INJECT_REVIEW_SHAPE',
      ],
      ['null', 400, 'KSC_ERR_INJECT_REVIEW_SHAPE'],
      [Buffer.alloc(9 * 1024 * 1024, 0x20), 413, 'KSC_ERR_INJECT_REVIEW_TOO_LARGE'],
    ]
    for (const [body, status, code] of cases) {
      const answer = await post('/inject', body)
      expect(answer.status, code).toBe(status)
      expect(answer.body.code).toBe(code)
      expect(answer.body.error.length).toBeGreaterThan(20)
    }
    // A review of something that is not a pod (the webhook registered too widely) passes untouched.
    const svc = JSON.stringify({
      apiVersion: 'admission.k8s.io/v1',
      kind: 'AdmissionReview',
      request: { uid: 's1', kind: { group: '', version: 'v1', kind: 'Service' }, operation: 'CREATE', object: {} },
    })
    expect((await post('/inject', svc)).body.response).toEqual({ uid: 's1', allowed: true })
    // A pod review whose object is no pod is refused inside a review, naming the field.
    const broken = JSON.stringify({
      apiVersion: 'admission.k8s.io/v1',
      kind: 'AdmissionReview',
      request: { uid: 'b1', kind: { group: '', version: 'v1', kind: 'Pod' }, operation: 'CREATE', object: { spec: 7 } },
    })
    const refused = (await post('/inject', broken)).body.response
    expect(refused.allowed).toBe(false)
    expect(refused.status.message).toContain('spec: is missing or not an object')
    expect((await post('/inject', '', 'GET')).status).toBe(405)
    expect((await post('/stats', '', 'GET')).status).toBe(404)
    // Every answer is counted by outcome; the malformed ones above among them.
    const metrics = (await post('/metrics', '', 'GET')).text
    expect(metrics).toMatch(/^kafka_sidecar_injector_reviews_total\{outcome="malformed"\} 6$/m)
    expect(metrics).toMatch(/^kafka_sidecar_injector_reviews_total\{outcome="injected"\} \d+$/m)
    expect(metrics).toMatch(/^kafka_sidecar_injector_reviews_total\{outcome="refused"\} \d+$/m)
    expect((await post('/healthz', '', 'GET')).status).toBe(200)
    expect(server.exitCode).toBeNull()
    expect(log.join('\n')).not.toMatch(/\n\s+at /)
  })

  it('drains and exits 0 on SIGTERM', async () => {
    server.kill('SIGTERM')
    const [code] = await once(server, 'exit')
    expect(code).toBe(0)
    expect(log.some((l) => l.includes('sidecar injector stopping'))).toBe(true)
  })
})

describe('kafka-sidecar inject-webhook: start-up mistakes', () => {
  const run = (args: string[]) =>
    spawnSync(process.execPath, [CLI, 'inject-webhook', ...args], { encoding: 'utf8', timeout: 30_000 })

  it('names a missing certificate flag in one usage line (exit 2)', () => {
    const r = run(['--tls-key', '/k'])
    expect(r.status).toBe(2)
    expect(r.stderr).toBe(
      'error KSC_ERR_CLI_USAGE: missing --tls-cert file (see kafka-sidecar inject-webhook --help)\n',
    )
  })

  it('names the problem with a bad config file or certificate (exit 1, no stack trace)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ksc-inject-bad-'))
    const config = join(dir, 'injector.yaml')
    writeFileSync(config, 'sidecar:\n  imagePullPolicy: Sometimes\n')
    const badConfig = run(['--config', config, '--tls-cert', '/nonexistent.crt', '--tls-key', '/nonexistent.key'])
    expect(badConfig.status).toBe(1)
    expect(badConfig.stderr).toContain('error KSC_ERR_INJECT_CONFIG: invalid injector configuration')
    expect(badConfig.stderr).toContain('sidecar.imagePullPolicy: "Sometimes" is not one of Always, IfNotPresent, Never')
    const badCert = run(['--tls-cert', '/nonexistent.crt', '--tls-key', '/nonexistent.key', '--listen', '127.0.0.1:1'])
    expect(badCert.status).toBe(1)
    expect(badCert.stdout + badCert.stderr).toContain('KSC_ERR_TLS_MATERIAL')
    expect(badCert.stdout + badCert.stderr).not.toMatch(/\n\s+at /)
    const badListen = run(['--tls-cert', '/c', '--tls-key', '/k', '--listen', 'nowhere'])
    expect(badListen.status).toBe(2)
    expect(badListen.stderr).toContain('--listen "nowhere" is not host:port')
  })
})

function safeJson(text: string): Json {
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}
