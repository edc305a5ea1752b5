import { readFileSync } from 'node:fs'
import { parse as parseYaml } from 'yaml'
import { parseHostPort } from '../config/host-port.js'
import { LOG_LEVELS, type LogLevel } from '../config/log-section.js'
import { InjectorConfigError } from './errors.js'
import { parseQuantity } from './quantity.js'

/**
 * The injector's settings: what it puts into every pod unless the pod's annotations say otherwise. The Helm chart
 * renders them into a ConfigMap from its values (helm/kafka-sidecar/templates/injector-configmap.yaml), so a value
 * and its key here have the same name.
 */
export interface InjectorConfig {
  readonly sidecar: {
    readonly image: string
    readonly imagePullPolicy: 'Always' | 'IfNotPresent' | 'Never'
    /** Upstream for pods that name none and bring no config file; '' for none. */
    readonly upstream: string
    readonly logLevel: LogLevel
    /**
     * Native sidecar (an init container with restartPolicy: Always, KEP-753): on by default from Kubernetes 1.29
     * (beta, feature gate SidecarContainers), GA in 1.33. The AdmissionReview does not carry the API server's
     * version, so the chart decides from `.Capabilities.KubeVersion` at install time, and a pod may override.
     */
    readonly nativeSidecar: boolean
    readonly listenPort: number
    readonly adminPort: number
    readonly healthPort: number
    /** Bind the admin endpoint (/metrics and /stats) to the pod IP, for Prometheus; default loopback only. */
    readonly exposeAdmin: boolean
    readonly resources: ResourceRequirements
    /** The image's user (USER 1000:1000 in the Dockerfile), set explicitly for runAsNonRoot checks. */
    readonly runAsUser: number
    readonly runAsGroup: number
    /** Regular-container mode only: how long the sidecar waits after SIGTERM before draining (the app goes first). */
    readonly preStopSleepSeconds: number
  }
  readonly injection: {
    /** Variable the app containers get, unless they set it. */
    readonly bootstrapEnv: string
    /** Its value; default localhost:<listenPort>. */
    readonly bootstrapServers: string
  }
}

export interface ResourceRequirements {
  readonly requests?: Readonly<Record<string, string>>
  readonly limits?: Readonly<Record<string, string>>
}

export const INJECTOR_DEFAULTS: InjectorConfig = {
  sidecar: {
    image: 'kafka-sidecar:latest',
    imagePullPolicy: 'IfNotPresent',
    upstream: '',
    logLevel: 'info',
    nativeSidecar: true,
    listenPort: 9092,
    adminPort: 9644,
    healthPort: 9645,
    exposeAdmin: false,
    // An idle sidecar takes about 80 MB; limits.memoryBudgetBytes (128 MiB) is what connections may hold on top
    // (src/config/schema.ts DEFAULTS.limits), hence the 256Mi limit the README's figures are planned for.
    resources: { requests: { cpu: '50m', memory: '128Mi' }, limits: { memory: '256Mi' } },
    runAsUser: 1000,
    runAsGroup: 1000,
    preStopSleepSeconds: 5,
  },
  injection: { bootstrapEnv: 'KAFKA_BOOTSTRAP_SERVERS', bootstrapServers: 'localhost:9092' },
}

const PULL_POLICIES = ['Always', 'IfNotPresent', 'Never'] as const

/** Reads and checks the injector's configuration file; throws InjectorConfigError naming every problem. */
export function loadInjectorConfig(file: string): InjectorConfig {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (err) {
    throw new InjectorConfigError(file, [`cannot read it: ${(err as Error).message}`])
  }
  let raw: unknown
  try {
    raw = parseYaml(text)
  } catch (err) {
    throw new InjectorConfigError(file, [`not YAML: ${(err as Error).message.split('\n')[0]}`])
  }
  const { config, problems } = validateInjectorConfig(raw ?? {})
  if (config === undefined) throw new InjectorConfigError(file, problems)
  return config
}

/** Checks a parsed configuration and fills in defaults. */
export function validateInjectorConfig(raw: unknown): { config?: InjectorConfig; problems: string[] } {
  const problems: string[] = []
  const root = mapping(raw, '', ['sidecar', 'injection'], problems)
  const s = mapping(root.sidecar, 'sidecar', Object.keys(INJECTOR_DEFAULTS.sidecar), problems)
  const i = mapping(root.injection, 'injection', Object.keys(INJECTOR_DEFAULTS.injection), problems)
  const d = INJECTOR_DEFAULTS.sidecar

  const str = (v: unknown, at: string, fallback: string) => {
    if (v === undefined || v === null) return fallback
    if (typeof v === 'string') return v.trim()
    problems.push(`${at}: ${JSON.stringify(v)} is not a string`)
    return fallback
  }
  const int = (v: unknown, at: string, fallback: number, min: number, max: number) => {
    if (v === undefined || v === null) return fallback
    if (typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max) return v
    problems.push(`${at}: ${JSON.stringify(v)} is not a whole number from ${min} to ${max}`)
    return fallback
  }
  const bool = (v: unknown, at: string, fallback: boolean) => {
    if (v === undefined || v === null) return fallback
    if (typeof v === 'boolean') return v
    problems.push(`${at}: ${JSON.stringify(v)} is not true or false`)
    return fallback
  }
  const choice = <T extends string>(v: unknown, at: string, fallback: T, choices: readonly T[]): T => {
    if (v === undefined || v === null) return fallback
    if (typeof v === 'string' && (choices as readonly string[]).includes(v)) return v as T
    problems.push(`${at}: ${JSON.stringify(v)} is not one of ${choices.join(', ')}`)
    return fallback
  }

  const image = str(s.image, 'sidecar.image', d.image)
  if (image === '') problems.push('sidecar.image: is empty: name the kafka-sidecar image (repository:tag)')
  const upstream = str(s.upstream, 'sidecar.upstream', d.upstream)
  for (const entry of upstream.split(/[\s,]+/).filter((e) => e !== '')) {
    if ('error' in parseHostPort(entry)) problems.push(`sidecar.upstream: ${JSON.stringify(entry)} is not host:port`)
  }
  const listenPort = int(s.listenPort, 'sidecar.listenPort', d.listenPort, 1, 65535)
  const adminPort = int(s.adminPort, 'sidecar.adminPort', d.adminPort, 1, 65535)
  const healthPort = int(s.healthPort, 'sidecar.healthPort', d.healthPort, 1, 65535)
  const ports = [
    ['listenPort', listenPort],
    ['adminPort', adminPort],
    ['healthPort', healthPort],
  ] as const
  for (let a = 0; a < ports.length; a++) {
    for (let b = a + 1; b < ports.length; b++) {
      if (ports[a]![1] === ports[b]![1]) {
        problems.push(
          `sidecar.${ports[b]![0]}: ${ports[b]![1]} is also sidecar.${ports[a]![0]}: give each its own port`,
        )
      }
    }
  }
  const bootstrapEnv = str(i.bootstrapEnv, 'injection.bootstrapEnv', INJECTOR_DEFAULTS.injection.bootstrapEnv)
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(bootstrapEnv)) {
    problems.push(`injection.bootstrapEnv: ${JSON.stringify(bootstrapEnv)} is not an environment variable name`)
  }
  const config: InjectorConfig = {
    sidecar: {
      image,
      imagePullPolicy: choice(s.imagePullPolicy, 'sidecar.imagePullPolicy', d.imagePullPolicy, PULL_POLICIES),
      upstream,
      logLevel: choice(s.logLevel, 'sidecar.logLevel', d.logLevel, LOG_LEVELS),
      nativeSidecar: bool(s.nativeSidecar, 'sidecar.nativeSidecar', d.nativeSidecar),
      listenPort,
      adminPort,
      healthPort,
      exposeAdmin: bool(s.exposeAdmin, 'sidecar.exposeAdmin', d.exposeAdmin),
      resources: resources(s.resources, problems),
      runAsUser: int(s.runAsUser, 'sidecar.runAsUser', d.runAsUser, 1, 2_147_483_647),
      runAsGroup: int(s.runAsGroup, 'sidecar.runAsGroup', d.runAsGroup, 0, 2_147_483_647),
      preStopSleepSeconds: int(s.preStopSleepSeconds, 'sidecar.preStopSleepSeconds', d.preStopSleepSeconds, 0, 300),
    },
    injection: {
      bootstrapEnv,
      bootstrapServers: str(i.bootstrapServers, 'injection.bootstrapServers', `localhost:${listenPort}`),
    },
  }
  return problems.length > 0 ? { problems } : { config, problems }
}

function resources(v: unknown, problems: string[]): ResourceRequirements {
  if (v === undefined || v === null) return INJECTOR_DEFAULTS.sidecar.resources
  const m = mapping(v, 'sidecar.resources', ['requests', 'limits'], problems)
  const out: { requests?: Record<string, string>; limits?: Record<string, string> } = {}
  for (const part of ['requests', 'limits'] as const) {
    if (m[part] === undefined || m[part] === null) continue
    const entries = mapping(m[part], `sidecar.resources.${part}`, null, problems)
    const checked: Record<string, string> = {}
    for (const [name, q] of Object.entries(entries)) {
      const text = typeof q === 'number' ? String(q) : q
      if (typeof text !== 'string' || parseQuantity(text) === undefined) {
        problems.push(`sidecar.resources.${part}.${name}: ${JSON.stringify(q)} is not a Kubernetes quantity`)
      } else checked[name] = text
    }
    out[part] = checked
  }
  return out
}

function mapping(v: unknown, at: string, keys: readonly string[] | null, problems: string[]): Record<string, unknown> {
  if (v === undefined || v === null) return {}
  if (typeof v !== 'object' || Array.isArray(v)) {
    problems.push(`${at || 'the file'}: expected a mapping`)
    return {}
  }
  const m = v as Record<string, unknown>
  if (keys !== null) {
    for (const k of Object.keys(m)) {
      if (!keys.includes(k)) problems.push(`${at === '' ? k : `${at}.${k}`}: unknown key (known: ${keys.join(', ')})`)
    }
  }
  return m
}
