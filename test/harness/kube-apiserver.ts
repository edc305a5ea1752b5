import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import https from 'node:https'
import { join } from 'node:path'
import { allocatePorts } from './free-port.js'
import { RegistryToolInstallError, toolsDir } from './registry-tools.js'
import { runCommand } from './run-command.js'
import { waitFor } from './wait-for.js'

/**
 * A real Kubernetes API server for the end-to-end injection test: kube-apiserver built from k8s.io/kubernetes
 * through the Go module proxy, on Debian's etcd (etcd-server), both on loopback ports of this machine. No
 * scheduler, controllers or kubelet: pods are admitted (mutating webhooks, validation, defaults) and stored, which
 * is what sidecar injection is about. Slow to build the first time (the whole API server, many minutes on two
 * cores), so the test that uses it is opt-in (KAFKA_TEST_K8S_E2E=1).
 *
 * k8s.io/kubernetes cannot be `go install`ed (its go.mod points its k8s.io/* staging modules at local directories),
 * so a throwaway module requires it and maps each staging module to its published version.
 */

export const KUBERNETES_VERSION = 'v1.35.4'

/** The kube-apiserver binary, built on first use into the test tools cache. */
export async function kubeApiserver(log: (line: string) => void): Promise<string> {
  const dir = join(toolsDir(), 'go', `kube-apiserver-${KUBERNETES_VERSION}`)
  const binary = join(dir, 'kube-apiserver')
  if (existsSync(binary)) return binary
  const work = `${dir}.build-${process.pid}`
  mkdirSync(work, { recursive: true })
  const env = { ...process.env, GOTOOLCHAIN: 'local', GOFLAGS: '-mod=mod -buildvcs=false' }
  log(
    `building kube-apiserver ${KUBERNETES_VERSION} for the end-to-end test (go build k8s.io/kubernetes/cmd/kube-apiserver; minutes)`,
  )
  const download = await runCommand('go', ['mod', 'download', '-json', `k8s.io/kubernetes@${KUBERNETES_VERSION}`], {
    cwd: work,
    env,
  })
  if (download.code !== 0) throw new RegistryToolInstallError('k8s.io/kubernetes', 'go mod download', download.stderr)
  const goMod = readFileSync((JSON.parse(download.stdout) as { GoMod: string }).GoMod, 'utf8')
  const staging = [...goMod.matchAll(/^\s+(k8s\.io\/[^\s]+) => \.\/staging\//gm)].map((m) => m[1]!)
  const minor = KUBERNETES_VERSION.replace(/^v1\./, 'v0.')
  writeFileSync(
    join(work, 'go.mod'),
    [
      'module kubeapiserverbuild',
      '',
      `go ${/^go (\S+)/m.exec(goMod)?.[1] ?? '1.25.0'}`,
      '',
      `require k8s.io/kubernetes ${KUBERNETES_VERSION}`,
      '',
      'replace (',
      ...staging.map((m) => `\t${m} => ${m} ${minor}`),
      ')',
      '',
    ].join('\n'),
  )
  writeFileSync(
    join(work, 'tools.go'),
    'package main\n\nimport _ "k8s.io/kubernetes/cmd/kube-apiserver/app"\n\nfunc main() {}\n',
  )
  for (const args of [
    ['mod', 'tidy'],
    ['build', '-o', join(work, 'kube-apiserver'), 'k8s.io/kubernetes/cmd/kube-apiserver'],
  ]) {
    const r = await runCommand('go', args, { cwd: work, env, timeoutMs: 90 * 60_000 })
    if (r.code !== 0) throw new RegistryToolInstallError('kube-apiserver', `go ${args.join(' ')}`, r.stderr + r.stdout)
  }
  mkdirSync(dir, { recursive: true })
  renameSync(join(work, 'kube-apiserver'), binary)
  rmSync(work, { recursive: true, force: true })
  return binary
}

export interface ApiServer {
  /** A kubeconfig for kubectl (a static admin token). */
  readonly kubeconfig: string
  readonly url: string
  stop(): Promise<void>
}

/** etcd and kube-apiserver on free loopback ports, state under `dir`; resolves once /readyz answers ok. */
export async function startApiServer(binary: string, dir: string): Promise<ApiServer> {
  mkdirSync(dir, { recursive: true })
  const [etcdClient, etcdPeer, securePort] = (await allocatePorts('127.0.0.1', 3)) as [number, number, number]
  const logs: string[] = []
  const processes: ChildProcess[] = []
  const launch = (command: string, args: string[]) => {
    const child = spawn(command, args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] })
    child.stdout!.setEncoding('utf8').on('data', (d: string) => logs.push(d))
    child.stderr!.setEncoding('utf8').on('data', (d: string) => logs.push(d))
    processes.push(child)
    return child
  }
  const stop = async () => {
    for (const child of processes.reverse()) {
      if (child.exitCode !== null || child.signalCode !== null) continue
      child.kill('SIGTERM')
      await Promise.race([once(child, 'exit'), new Promise((r) => setTimeout(r, 10_000))])
      if (child.exitCode === null) child.kill('SIGKILL')
    }
  }
  try {
    launch('etcd', [
      '--data-dir',
      join(dir, 'etcd'),
      '--listen-client-urls',
      `http://127.0.0.1:${etcdClient}`,
      '--advertise-client-urls',
      `http://127.0.0.1:${etcdClient}`,
      '--listen-peer-urls',
      `http://127.0.0.1:${etcdPeer}`,
      '--initial-advertise-peer-urls',
      `http://127.0.0.1:${etcdPeer}`,
      '--initial-cluster',
      `default=http://127.0.0.1:${etcdPeer}`,
    ])
    const key = join(dir, 'sa.key')
    const pub = join(dir, 'sa.pub')
    await runCommand('openssl', ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', key])
    await runCommand('openssl', ['pkey', '-in', key, '-pubout', '-out', pub])
    const token = `e2e-${process.pid}-${Date.now()}`
    writeFileSync(join(dir, 'tokens.csv'), `${token},admin,admin,system:masters\n`)
    launch(binary, [
      `--etcd-servers=http://127.0.0.1:${etcdClient}`,
      `--secure-port=${securePort}`,
      '--bind-address=127.0.0.1',
      '--advertise-address=127.0.0.1',
      // The kubernetes Service's endpoint would be this loopback address, which an Endpoints object may not hold.
      '--endpoint-reconciler-type=none',
      `--cert-dir=${join(dir, 'certs')}`,
      `--service-account-issuer=https://kubernetes.default.svc`,
      `--service-account-key-file=${pub}`,
      `--service-account-signing-key-file=${key}`,
      `--token-auth-file=${join(dir, 'tokens.csv')}`,
      '--authorization-mode=RBAC',
      // Bookkeeping only: Services get addresses from it, no traffic goes there.
      '--service-cluster-ip-range=10.96.0.0/24',
    ])
    const url = `https://127.0.0.1:${securePort}`
    await waitFor(
      'the API server to be ready',
      () => {
        if (processes.some((p) => p.exitCode !== null))
          throw new Error(`a process exited:\n${logs.join('').slice(-3000)}`)
        return ready(url, token)
      },
      { timeoutMs: 180_000, intervalMs: 500 },
    )
    const kubeconfig = join(dir, 'kubeconfig')
    writeFileSync(
      kubeconfig,
      [
        'apiVersion: v1',
        'kind: Config',
        `clusters: [{ name: e2e, cluster: { server: "${url}", insecure-skip-tls-verify: true } }]`,
        `users: [{ name: admin, user: { token: "${token}" } }]`,
        'contexts: [{ name: e2e, context: { cluster: e2e, user: admin } }]',
        'current-context: e2e',
        '',
      ].join('\n'),
    )
    return { kubeconfig, url, stop }
  } catch (err) {
    await stop()
    throw err
  }
}

function ready(url: string, token: string): Promise<boolean> {
  return new Promise((resolve) => {
    https
      .get(`${url}/readyz`, { headers: { authorization: `Bearer ${token}` }, rejectUnauthorized: false }, (res) => {
        res.resume()
        resolve(res.statusCode === 200)
      })
      .on('error', () => resolve(false))
  })
}
