import { MOUNTS, type PodInjectionOptions, type TlsSource } from './annotations.js'
import type { PodProblem } from './errors.js'
import type { InjectorConfig } from './injector-config.js'

/**
 * The container the injector adds, and the volumes it needs, from the injector's defaults and the pod's
 * annotations. The shapes are Kubernetes core/v1 (Container, Volume); only the fields written here are typed.
 */

export const SIDECAR_CONTAINER_NAME = 'kafka-sidecar'
export const CONFIG_VOLUME = 'kafka-sidecar-config'
export const TLS_VOLUME = 'kafka-sidecar-tls'
/** Port names: IANA_SVC_NAME, at most 15 characters (core/v1 ContainerPort.name). */
export const HEALTH_PORT_NAME = 'ksc-health'
export const ADMIN_PORT_NAME = 'ksc-admin'
/** Where the image keeps the CLI (WORKDIR /app in the Dockerfile). */
export const IMAGE_CLI = '/app/dist/src/cli.js'

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json }
export type JsonObject = { [key: string]: Json }

export interface SidecarSpec {
  readonly container: JsonObject
  readonly volumes: readonly JsonObject[]
  /** Native sidecar (init container with restartPolicy: Always) or a regular container. */
  readonly native: boolean
  /** The variable the app containers get, and its value. */
  readonly bootstrapEnv: { readonly name: string; readonly value: string }
}

/** The sidecar for one pod; problems (a pod that names no upstream where none is configured) instead of a spec. */
export function sidecarSpec(
  config: InjectorConfig,
  options: PodInjectionOptions,
): { spec: SidecarSpec } | { problems: PodProblem[] } {
  const s = config.sidecar
  const native = options.nativeSidecar ?? s.nativeSidecar
  const exposeAdmin = options.exposeAdmin ?? s.exposeAdmin
  // With a config file, the file decides what the pod's annotations leave open: the injector's defaults for the
  // upstream and the log level would override it (environment variables win over the file).
  const upstream = options.upstream ?? (options.configMap === undefined && s.upstream !== '' ? s.upstream : undefined)
  const logLevel = options.logLevel ?? (options.configMap === undefined ? s.logLevel : undefined)
  if (upstream === undefined && options.configMap === undefined) {
    return {
      problems: [
        {
          field: 'metadata.annotations["kafka-sidecar.io/upstream"]',
          message:
            'the sidecar has no upstream brokers: annotate the pod with kafka-sidecar.io/upstream: host:port,... ' +
            '(or kafka-sidecar.io/config: a ConfigMap with the sidecar config), or set the chart value sidecar.upstream',
        },
      ],
    }
  }

  // The injector owns the pod's wiring: the listener the apps are pointed at, the health port the probes use and
  // the admin address; these override a config file's.
  const env: JsonObject[] = [
    { name: 'KAFKA_SIDECAR_LISTEN', value: `127.0.0.1:${s.listenPort}` },
    { name: 'KAFKA_SIDECAR_ADMIN', value: `${exposeAdmin ? '0.0.0.0' : '127.0.0.1'}:${s.adminPort}` },
    { name: 'KAFKA_SIDECAR_HEALTH_PORT', value: String(s.healthPort) },
  ]
  if (upstream !== undefined) env.push({ name: 'KAFKA_SIDECAR_UPSTREAM', value: upstream })
  if (logLevel !== undefined) env.push({ name: 'KAFKA_SIDECAR_LOG_LEVEL', value: logLevel })
  if (options.configMap !== undefined) env.push({ name: 'KAFKA_SIDECAR_CONFIG', value: MOUNTS.configFile })
  if (options.tls?.for === 'listen') {
    env.push(
      { name: 'KAFKA_SIDECAR_TLS_CERT', value: `${MOUNTS.tlsDir}/tls.crt` },
      { name: 'KAFKA_SIDECAR_TLS_KEY', value: `${MOUNTS.tlsDir}/tls.key` },
      { name: 'KAFKA_SIDECAR_TLS_CLIENT_CA', value: `${MOUNTS.tlsDir}/ca.crt` },
    )
  }

  const volumes: JsonObject[] = []
  const mounts: JsonObject[] = []
  if (options.configMap !== undefined) {
    // The whole directory, not a subPath: a subPath mount never sees ConfigMap updates, and the sidecar reloads
    // its file when the kubelet swaps the directory's ..data symlink.
    volumes.push({ name: CONFIG_VOLUME, configMap: { name: options.configMap } })
    mounts.push({ name: CONFIG_VOLUME, mountPath: MOUNTS.configDir, readOnly: true })
  }
  if (options.tls !== undefined) {
    volumes.push({ name: TLS_VOLUME, ...tlsVolume(options.tls.source) })
    mounts.push({ name: TLS_VOLUME, mountPath: MOUNTS.tlsDir, readOnly: true })
  }

  const health = { path: '/healthz', port: HEALTH_PORT_NAME }
  const ports: JsonObject[] = [{ name: HEALTH_PORT_NAME, containerPort: s.healthPort, protocol: 'TCP' }]
  if (exposeAdmin) ports.push({ name: ADMIN_PORT_NAME, containerPort: s.adminPort, protocol: 'TCP' })

  const container: JsonObject = {
    name: SIDECAR_CONTAINER_NAME,
    image: s.image,
    imagePullPolicy: s.imagePullPolicy,
    args: ['run'],
    env,
    ports,
    resources: resources(config, options),
    // The listeners are up before /healthz answers (src/commands/run.ts starts the health listener last): the
    // kubelet starts the next container (native sidecar) or the app (postStart below) only after that.
    startupProbe: { httpGet: health, periodSeconds: 1, failureThreshold: 60 },
    livenessProbe: { httpGet: health, periodSeconds: 10, failureThreshold: 3 },
    readinessProbe: { httpGet: { path: '/readyz', port: HEALTH_PORT_NAME }, periodSeconds: 10, failureThreshold: 3 },
    securityContext: {
      runAsNonRoot: true,
      runAsUser: s.runAsUser,
      runAsGroup: s.runAsGroup,
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    },
    terminationMessagePolicy: 'FallbackToLogsOnError',
  }
  if (mounts.length > 0) container.volumeMounts = mounts
  if (native) {
    // KEP-753: an init container with restartPolicy Always starts before the app containers, keeps running beside
    // them, and is stopped after they have stopped, so the app's last commits still get through on shutdown.
    container.restartPolicy = 'Always'
  } else {
    // As a regular container nothing orders it against the app. The kubelet starts a pod's containers in list
    // order and runs each postStart hook before starting the next container, so a hook that waits for /healthz
    // holds the app back until the sidecar listens (Istio's holdApplicationUntilProxyStarts works the same way).
    // On shutdown every container gets SIGTERM at once; the preStop sleep gives the app a head start.
    container.lifecycle = {
      postStart: { exec: { command: ['node', IMAGE_CLI, 'healthcheck', '--wait', '60'] } },
      ...(s.preStopSleepSeconds > 0
        ? { preStop: { exec: { command: ['sleep', String(s.preStopSleepSeconds)] } } }
        : {}),
    }
  }
  const bootstrapEnv = {
    name: options.bootstrapEnv ?? config.injection.bootstrapEnv,
    value: config.injection.bootstrapServers,
  }
  return { spec: { container, volumes, native, bootstrapEnv } }
}

function resources(config: InjectorConfig, options: PodInjectionOptions): JsonObject {
  const requests: Record<string, string> = { ...(config.sidecar.resources.requests ?? {}) }
  const limits: Record<string, string> = { ...(config.sidecar.resources.limits ?? {}) }
  const r = options.resources
  if (r.cpuRequest !== undefined) requests.cpu = r.cpuRequest
  if (r.memoryRequest !== undefined) requests.memory = r.memoryRequest
  if (r.cpuLimit !== undefined) limits.cpu = r.cpuLimit
  if (r.memoryLimit !== undefined) limits.memory = r.memoryLimit
  const out: JsonObject = {}
  if (Object.keys(requests).length > 0) out.requests = requests
  if (Object.keys(limits).length > 0) out.limits = limits
  return out
}

/**
 * The volume source for TLS material. Each source writes tls.crt, tls.key and ca.crt:
 * - a Secret as cert-manager writes it (type kubernetes.io/tls, with ca.crt);
 * - cert-manager's csi-driver (driver csi.cert-manager.io; its default file names are tls.crt, tls.key and ca.crt,
 *   attribute names as in its pkg/apis/v1alpha1 constants, e.g. csi.cert-manager.io/issuer-name);
 * - cert-manager's csi-driver-spiffe (driver spiffe.csi.cert-manager.io), which writes a SPIFFE X.509-SVID for the
 *   pod's service account under the same names (cert-manager.io/docs/usage/csi-driver-spiffe).
 */
function tlsVolume(source: TlsSource): JsonObject {
  switch (source.kind) {
    case 'secret':
      return { secret: { secretName: source.secretName } }
    case 'spiffe-csi':
      return { csi: { driver: 'spiffe.csi.cert-manager.io', readOnly: true } }
    case 'cert-manager-csi':
      return {
        csi: {
          driver: 'csi.cert-manager.io',
          readOnly: true,
          volumeAttributes: {
            'csi.cert-manager.io/issuer-name': source.issuerName,
            'csi.cert-manager.io/issuer-kind': source.issuerKind,
            // The csi-driver fills in these variables per pod (its documented ${POD_NAME}, ${POD_NAMESPACE},
            // ${SERVICE_ACCOUNT_NAME}): one certificate per pod, named after its service account.
            // biome-ignore lint/suspicious/noTemplateCurlyInString: the csi-driver's own variables, not JavaScript's
            'csi.cert-manager.io/common-name': '${SERVICE_ACCOUNT_NAME}.${POD_NAMESPACE}',
            // biome-ignore lint/suspicious/noTemplateCurlyInString: as above
            'csi.cert-manager.io/dns-names': '${POD_NAME}.${POD_NAMESPACE}',
          },
        },
      }
  }
}
