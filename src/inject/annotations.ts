import { parseHostPort } from '../config/host-port.js'
import { LOG_LEVELS, type LogLevel } from '../config/log-section.js'
import { suggest } from '../config/validator.js'
import type { PodProblem } from './errors.js'
import { parseQuantity } from './quantity.js'

/**
 * The pod annotations (and labels) the injector reads. One prefix for all of them, as Istio's
 * `sidecar.istio.io/...` and Linkerd's `config.linkerd.io/...` do, so that `kubectl describe pod` groups them.
 */
export const ANNOTATION_PREFIX = 'kafka-sidecar.io/'

export const ANNOTATIONS = {
  /** "true" opts a pod in (where the namespace is not), "false" opts it out. Also read as a label. */
  inject: `${ANNOTATION_PREFIX}inject`,
  /** Written by the injector: what it injected. Its presence is what makes a second injection a no-op. */
  status: `${ANNOTATION_PREFIX}status`,
  /** A ConfigMap in the pod's namespace whose `config.yaml` key is the sidecar's configuration file. */
  config: `${ANNOTATION_PREFIX}config`,
  /** Upstream bootstrap brokers, `host:port,host:port` (KAFKA_SIDECAR_UPSTREAM). */
  upstream: `${ANNOTATION_PREFIX}upstream`,
  logLevel: `${ANNOTATION_PREFIX}log-level`,
  cpuRequest: `${ANNOTATION_PREFIX}cpu-request`,
  cpuLimit: `${ANNOTATION_PREFIX}cpu-limit`,
  memoryRequest: `${ANNOTATION_PREFIX}memory-request`,
  memoryLimit: `${ANNOTATION_PREFIX}memory-limit`,
  /** "true": an init container with restartPolicy Always; "false": a regular container. Default: the injector's. */
  nativeSidecar: `${ANNOTATION_PREFIX}native-sidecar`,
  /** Name of the variable the app containers get (default the injector's, KAFKA_BOOTSTRAP_SERVERS). */
  bootstrapEnv: `${ANNOTATION_PREFIX}bootstrap-env`,
  /** "true": the admin endpoint (/metrics, /stats) binds the pod IP, for Prometheus. Default: the injector's. */
  exposeAdmin: `${ANNOTATION_PREFIX}expose-admin`,
  /** TLS material from a Secret (tls.crt, tls.key, ca.crt, as cert-manager writes them). */
  tlsSecret: `${ANNOTATION_PREFIX}tls-secret`,
  /** TLS material from a CSI driver: `cert-manager` (csi.cert-manager.io) or `spiffe` (spiffe.csi.cert-manager.io). */
  tlsCsi: `${ANNOTATION_PREFIX}tls-csi`,
  /** For tls-csi cert-manager: the issuer, `NAME` (an Issuer) or `ClusterIssuer/NAME`. */
  tlsCsiIssuer: `${ANNOTATION_PREFIX}tls-csi-issuer`,
  /** What the material is for: `upstream` (default: the config file's upstream.tls names it) or `listen`. */
  tlsFor: `${ANNOTATION_PREFIX}tls-for`,
} as const

/** Where the injected container finds what the annotations mount. */
export const MOUNTS = {
  configDir: '/etc/kafka-sidecar',
  configFile: '/etc/kafka-sidecar/config.yaml',
  configKey: 'config.yaml',
  tlsDir: '/var/run/kafka-sidecar/tls',
} as const

export type TlsSource =
  | { readonly kind: 'secret'; readonly secretName: string }
  | { readonly kind: 'cert-manager-csi'; readonly issuerName: string; readonly issuerKind: 'Issuer' | 'ClusterIssuer' }
  | { readonly kind: 'spiffe-csi' }

export interface PodTls {
  readonly source: TlsSource
  readonly for: 'upstream' | 'listen'
}

/** What a pod's annotations ask of the injector; absent fields take the injector's defaults. */
export interface PodInjectionOptions {
  readonly configMap?: string
  readonly upstream?: string
  readonly logLevel?: LogLevel
  readonly resources: {
    readonly cpuRequest?: string
    readonly cpuLimit?: string
    readonly memoryRequest?: string
    readonly memoryLimit?: string
  }
  readonly nativeSidecar?: boolean
  readonly bootstrapEnv?: string
  readonly exposeAdmin?: boolean
  readonly tls?: PodTls
}

export type InjectDecision = 'inject' | 'skip-opted-out' | 'skip-not-opted-in'

/**
 * Whether a pod that reached the webhook is to be injected. `requireOptIn` is true on the route registered for
 * every pod of namespaces that did not opt in (the annotation route): there only `inject: "true"` injects. Pods
 * that the API server selected by a namespace or pod label are injected unless they opt out.
 */
export function injectDecision(
  annotations: Readonly<Record<string, string>>,
  labels: Readonly<Record<string, string>>,
  requireOptIn: boolean,
): InjectDecision {
  const say = (annotations[ANNOTATIONS.inject] ?? labels[ANNOTATIONS.inject])?.trim().toLowerCase()
  if (say === 'false' || say === 'disabled' || say === 'no') return 'skip-opted-out'
  if (requireOptIn && say !== 'true' && say !== 'enabled' && say !== 'yes') return 'skip-not-opted-in'
  return 'inject'
}

// A DNS-1123 subdomain (ConfigMap and Secret names), Kubernetes' IsDNS1123Subdomain.
const DNS1123_SUBDOMAIN = /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/
// A C identifier, which is what POSIX shells accept as a variable name; Kubernetes allows more, apps read less.
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/

/**
 * Reads the injection annotations. Every problem is collected (not only the first), so one `kubectl apply`
 * shows them all; unknown `kafka-sidecar.io/` annotations are refused too, as a misspelt one would otherwise be
 * silently ignored.
 */
export function parseInjectionAnnotations(annotations: Readonly<Record<string, string>>): {
  options: PodInjectionOptions
  problems: PodProblem[]
} {
  const problems: PodProblem[] = []
  const field = (key: string) => `metadata.annotations["${key}"]`
  const fail = (key: string, message: string) => problems.push({ field: field(key), message })
  const get = (key: string): string | undefined => {
    const v = annotations[key]
    return v === undefined ? undefined : v.trim()
  }

  const known = new Set<string>(Object.values(ANNOTATIONS))
  for (const key of Object.keys(annotations)) {
    if (!key.startsWith(ANNOTATION_PREFIX) || known.has(key)) continue
    const near = nearest(key, [...known])
    fail(key, `unknown kafka-sidecar annotation${near === undefined ? '' : ` (did you mean ${near}?)`}`)
  }

  const options: {
    -readonly [K in keyof PodInjectionOptions]: PodInjectionOptions[K]
  } = { resources: {} }

  const configMap = get(ANNOTATIONS.config)
  if (configMap !== undefined) {
    if (DNS1123_SUBDOMAIN.test(configMap)) options.configMap = configMap
    else fail(ANNOTATIONS.config, `${JSON.stringify(configMap)} is not a ConfigMap name (lower-case DNS subdomain)`)
  }

  const upstream = get(ANNOTATIONS.upstream)
  if (upstream !== undefined) {
    const entries = upstream.split(/[\s,]+/).filter((e) => e !== '')
    const bad = entries.filter((e) => 'error' in parseHostPort(e))
    if (entries.length === 0) fail(ANNOTATIONS.upstream, 'is empty: write the bootstrap brokers as host:port,host:port')
    else if (bad.length > 0) {
      fail(ANNOTATIONS.upstream, `${bad.map((b) => JSON.stringify(b)).join(', ')} is not host:port (e.g. kafka:9092)`)
    } else options.upstream = entries.join(',')
  }

  const level = get(ANNOTATIONS.logLevel)
  if (level !== undefined) {
    if ((LOG_LEVELS as readonly string[]).includes(level)) options.logLevel = level as LogLevel
    else fail(ANNOTATIONS.logLevel, `${JSON.stringify(level)} is not one of ${LOG_LEVELS.join(', ')}`)
  }

  const resources: Record<string, string> = {}
  for (const [key, name] of [
    [ANNOTATIONS.cpuRequest, 'cpuRequest'],
    [ANNOTATIONS.cpuLimit, 'cpuLimit'],
    [ANNOTATIONS.memoryRequest, 'memoryRequest'],
    [ANNOTATIONS.memoryLimit, 'memoryLimit'],
  ] as const) {
    const value = get(key)
    if (value === undefined) continue
    if (parseQuantity(value) === undefined) {
      const example = name.startsWith('cpu') ? '100m or 0.5' : '128Mi or 1Gi'
      fail(key, `${JSON.stringify(value)} is not a Kubernetes quantity (e.g. ${example})`)
    } else resources[name] = value
  }
  for (const kind of ['cpu', 'memory'] as const) {
    const request = resources[`${kind}Request`]
    const limit = resources[`${kind}Limit`]
    if (request !== undefined && limit !== undefined && parseQuantity(request)! > parseQuantity(limit)!) {
      fail(
        kind === 'cpu' ? ANNOTATIONS.cpuRequest : ANNOTATIONS.memoryRequest,
        `${request} is more than the limit ${limit}: a request may not exceed its limit`,
      )
    }
  }
  options.resources = resources

  const native = boolAnnotation(get(ANNOTATIONS.nativeSidecar), ANNOTATIONS.nativeSidecar, fail)
  if (native !== undefined) options.nativeSidecar = native
  const expose = boolAnnotation(get(ANNOTATIONS.exposeAdmin), ANNOTATIONS.exposeAdmin, fail)
  if (expose !== undefined) options.exposeAdmin = expose

  const envName = get(ANNOTATIONS.bootstrapEnv)
  if (envName !== undefined) {
    if (ENV_NAME.test(envName)) options.bootstrapEnv = envName
    else fail(ANNOTATIONS.bootstrapEnv, `${JSON.stringify(envName)} is not an environment variable name`)
  }

  const tls = parseTls(get, fail)
  if (tls !== undefined) options.tls = tls
  if (tls?.for === 'upstream' && options.configMap === undefined) {
    // No environment variable sets upstream.tls (src/config/overrides.ts): the config file has to name the files.
    fail(
      ANNOTATIONS.tlsFor,
      `TLS to the brokers needs a config file: set ${ANNOTATIONS.config} to a ConfigMap whose config.yaml has ` +
        `upstream.tls: { ca: ${MOUNTS.tlsDir}/ca.crt, cert: ${MOUNTS.tlsDir}/tls.crt, key: ${MOUNTS.tlsDir}/tls.key }` +
        ` (or set ${ANNOTATIONS.tlsFor}: listen for TLS on the sidecar's own listeners)`,
    )
  }
  return { options, problems }
}

function parseTls(
  get: (key: string) => string | undefined,
  fail: (key: string, message: string) => void,
): PodTls | undefined {
  const secret = get(ANNOTATIONS.tlsSecret)
  const csi = get(ANNOTATIONS.tlsCsi)
  const issuer = get(ANNOTATIONS.tlsCsiIssuer)
  const forText = get(ANNOTATIONS.tlsFor)
  let purpose: PodTls['for'] = 'upstream'
  if (forText !== undefined) {
    if (forText === 'upstream' || forText === 'listen') purpose = forText
    else fail(ANNOTATIONS.tlsFor, `${JSON.stringify(forText)} is not upstream or listen`)
  }
  if (secret !== undefined && csi !== undefined) {
    fail(ANNOTATIONS.tlsCsi, `and ${ANNOTATIONS.tlsSecret} are both set: TLS material comes from one of them`)
    return undefined
  }
  if (issuer !== undefined && csi !== 'cert-manager') {
    fail(ANNOTATIONS.tlsCsiIssuer, `is only read with ${ANNOTATIONS.tlsCsi}: cert-manager`)
  }
  if (secret !== undefined) {
    if (!DNS1123_SUBDOMAIN.test(secret)) {
      fail(ANNOTATIONS.tlsSecret, `${JSON.stringify(secret)} is not a Secret name (lower-case DNS subdomain)`)
      return undefined
    }
    return { source: { kind: 'secret', secretName: secret }, for: purpose }
  }
  if (csi === undefined) {
    if (forText !== undefined) fail(ANNOTATIONS.tlsFor, `needs ${ANNOTATIONS.tlsSecret} or ${ANNOTATIONS.tlsCsi}`)
    return undefined
  }
  if (csi === 'spiffe') return { source: { kind: 'spiffe-csi' }, for: purpose }
  if (csi !== 'cert-manager') {
    fail(ANNOTATIONS.tlsCsi, `${JSON.stringify(csi)} is not cert-manager or spiffe`)
    return undefined
  }
  if (issuer === undefined) {
    fail(ANNOTATIONS.tlsCsiIssuer, `is needed with ${ANNOTATIONS.tlsCsi}: cert-manager: NAME or ClusterIssuer/NAME`)
    return undefined
  }
  const [kindPart, namePart] = issuer.includes('/') ? issuer.split('/', 2) : ['Issuer', issuer]
  if ((kindPart !== 'Issuer' && kindPart !== 'ClusterIssuer') || !DNS1123_SUBDOMAIN.test(namePart ?? '')) {
    fail(ANNOTATIONS.tlsCsiIssuer, `${JSON.stringify(issuer)} is not NAME, Issuer/NAME or ClusterIssuer/NAME`)
    return undefined
  }
  return { source: { kind: 'cert-manager-csi', issuerName: namePart!, issuerKind: kindPart }, for: purpose }
}

function boolAnnotation(
  value: string | undefined,
  key: string,
  fail: (key: string, message: string) => void,
): boolean | undefined {
  if (value === undefined) return undefined
  if (value === 'true') return true
  if (value === 'false') return false
  fail(key, `${JSON.stringify(value)} is not "true" or "false"`)
  return undefined
}

function nearest(key: string, known: readonly string[]): string | undefined {
  const short = suggest(
    key.slice(ANNOTATION_PREFIX.length),
    known.map((k) => k.slice(ANNOTATION_PREFIX.length)),
  )
  return short === undefined ? undefined : ANNOTATION_PREFIX + short
}
