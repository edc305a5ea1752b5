import { ANNOTATIONS, injectDecision, parseInjectionAnnotations } from './annotations.js'
import { PodInjectionError, type PodProblem } from './errors.js'
import type { InjectorConfig } from './injector-config.js'
import {
  type Json,
  type JsonObject,
  SIDECAR_CONTAINER_NAME,
  type SidecarSpec,
  sidecarSpec,
} from './sidecar-container.js'

/**
 * The pod mutation as an RFC 6902 JSON patch, the one patch type admission webhooks may return
 * (admission.k8s.io/v1 AdmissionResponse.patchType: "JSONPatch"; the API server applies it with
 * gopkg.in/evanphx/json-patch.v4, k8s.io/apiserver pkg/admission/plugin/webhook/mutating/dispatcher.go).
 *
 * Each step adds only what is missing, so the mutation is idempotent: a pod mutated once gives an empty patch the
 * second time, and a reinvocation (reinvocationPolicy: IfNeeded, after another webhook added a container) gives
 * that container the bootstrap variable and nothing else.
 */

/** The label the injector puts on every pod it injected. */
export const INJECTED_LABEL = 'kafka-sidecar.io/injected'

export interface PatchOperation {
  readonly op: 'add' | 'replace' | 'remove' | 'test'
  readonly path: string
  readonly value?: Json
}

export type MutationOutcome =
  | 'injected'
  | 'already-injected'
  | 'skip-opted-out'
  | 'skip-not-opted-in'
  | 'skip-host-network'

export interface PodMutation {
  readonly outcome: MutationOutcome
  readonly patch: readonly PatchOperation[]
  /** Shown by kubectl to whoever created the pod (AdmissionResponse.warnings). */
  readonly warnings: readonly string[]
}

export interface MutateOptions {
  /** Inject only pods annotated kafka-sidecar.io/inject: "true" (the route for namespaces that did not opt in). */
  readonly requireOptIn: boolean
  /** Version written into the status annotation. */
  readonly version: string
}

/** RFC 6901: `~` is written `~0` and `/` is written `~1` in a JSON pointer segment. */
export function pointer(...segments: (string | number)[]): string {
  return segments.map((s) => `/${String(s).replaceAll('~', '~0').replaceAll('/', '~1')}`).join('')
}

/**
 * The patch for one pod (core/v1 Pod as JSON). Throws PodInjectionError when the pod asks for injection in a way
 * that cannot work (bad annotations, no upstream anywhere) or is not a pod at all.
 */
export function mutatePod(pod: unknown, config: InjectorConfig, options: MutateOptions): PodMutation {
  const shape = podShape(pod)
  if ('problems' in shape) throw new PodInjectionError(shape.problems)
  const { metadata, spec, annotations, labels } = shape

  const decision = injectDecision(annotations, labels, options.requireOptIn)
  if (decision !== 'inject') return { outcome: decision, patch: [], warnings: [] }

  const containers = spec.containers as JsonObject[]
  const initContainers = Array.isArray(spec.initContainers) ? (spec.initContainers as JsonObject[]) : []
  const alreadyThere =
    annotations[ANNOTATIONS.status] !== undefined ||
    [...containers, ...initContainers].some((c) => c.name === SIDECAR_CONTAINER_NAME)

  const { options: podOptions, problems } = parseInjectionAnnotations(annotations)
  if (alreadyThere) {
    // The annotations were read when the sidecar went in; only containers added since then need the variable.
    const built = problems.length === 0 ? sidecarSpec(config, podOptions) : undefined
    const env = built !== undefined && 'spec' in built ? built.spec.bootstrapEnv : bootstrapEnvOf(config, annotations)
    return { outcome: 'already-injected', patch: bootstrapEnvOps(containers, env), warnings: [] }
  }
  if (spec.hostNetwork === true) {
    return {
      outcome: 'skip-host-network',
      patch: [],
      warnings: ['kafka-sidecar: not injected: with hostNetwork the sidecar would listen on the node itself'],
    }
  }
  if (problems.length > 0) throw new PodInjectionError(problems)
  const built = sidecarSpec(config, podOptions)
  if ('problems' in built) throw new PodInjectionError(built.problems)
  const sidecar = built.spec

  const patch: PatchOperation[] = []
  const warnings: string[] = []
  if (sidecar.native) {
    // First of the init containers, so that init containers after it can use Kafka through it too.
    patch.push(
      spec.initContainers === undefined
        ? { op: 'add', path: pointer('spec', 'initContainers'), value: [sidecar.container] }
        : { op: 'add', path: pointer('spec', 'initContainers', 0), value: sidecar.container },
    )
  } else {
    // First of the containers: the kubelet starts them in order (see the postStart hook in sidecar-container.ts).
    patch.push({ op: 'add', path: pointer('spec', 'containers', 0), value: sidecar.container })
    if (spec.restartPolicy === 'Never' || spec.restartPolicy === 'OnFailure') {
      warnings.push(
        // AdmissionResponse.warnings: "Limit warnings to 120 characters if possible. Warnings over 256 characters
        // ... may be truncated" (k8s.io/api admission/v1/types.go).
        `kafka-sidecar: restartPolicy ${spec.restartPolicy} with a regular sidecar container: the pod never ` +
          'completes; use a native sidecar (Kubernetes 1.29+)',
      )
    }
  }
  patch.push(...volumeOps(spec, sidecar))
  // The app containers move one place down in regular-container mode; their env paths follow.
  patch.push(...bootstrapEnvOps(containers, sidecar.bootstrapEnv, sidecar.native ? 0 : 1))

  const newAnnotations: Record<string, string> = {
    [ANNOTATIONS.status]: JSON.stringify({
      version: options.version,
      mode: sidecar.native ? 'native-sidecar' : 'container',
      container: SIDECAR_CONTAINER_NAME,
    }),
  }
  const defaultContainer = 'kubectl.kubernetes.io/default-container'
  if (!sidecar.native && annotations[defaultContainer] === undefined && typeof containers[0]?.name === 'string') {
    // kubectl logs/exec pick the first container unless told; keep that the app's, not the sidecar's.
    newAnnotations[defaultContainer] = containers[0].name
  }
  // A label (selectable, unlike annotations) marks injected pods: the chart's PodMonitor finds the sidecars by it.
  const newLabels = { [INJECTED_LABEL]: 'true' }
  patch.push(
    ...((pod as JsonObject).metadata === undefined
      ? [{ op: 'add' as const, path: pointer('metadata'), value: { annotations: newAnnotations, labels: newLabels } }]
      : [...mapOps(metadata, 'annotations', newAnnotations), ...mapOps(metadata, 'labels', newLabels)]),
  )
  return { outcome: 'injected', patch, warnings }
}

/** The variable, first in each app container's env (so that later entries may use `$(NAME)`), unless it has it. */
function bootstrapEnvOps(
  containers: readonly JsonObject[],
  env: SidecarSpec['bootstrapEnv'],
  indexShift = 0,
): PatchOperation[] {
  const ops: PatchOperation[] = []
  containers.forEach((c, i) => {
    if (c.name === SIDECAR_CONTAINER_NAME) return
    const entry: JsonObject = { name: env.name, value: env.value }
    const index = i + indexShift
    if (!Array.isArray(c.env)) {
      ops.push({ op: 'add', path: pointer('spec', 'containers', index, 'env'), value: [entry] })
    } else if (!c.env.some((e) => isObject(e) && e.name === env.name)) {
      ops.push({ op: 'add', path: pointer('spec', 'containers', index, 'env', 0), value: entry })
    }
  })
  return ops
}

function bootstrapEnvOf(config: InjectorConfig, annotations: Record<string, string>) {
  return {
    name: annotations[ANNOTATIONS.bootstrapEnv]?.trim() || config.injection.bootstrapEnv,
    value: config.injection.bootstrapServers,
  }
}

function volumeOps(spec: JsonObject, sidecar: SidecarSpec): PatchOperation[] {
  if (sidecar.volumes.length === 0) return []
  if (!Array.isArray(spec.volumes)) {
    return [{ op: 'add', path: pointer('spec', 'volumes'), value: [...sidecar.volumes] }]
  }
  const existing = new Set(spec.volumes.filter(isObject).map((v) => v.name))
  return sidecar.volumes
    .filter((v) => !existing.has(v.name as string))
    .map((v) => ({ op: 'add' as const, path: pointer('spec', 'volumes', '-'), value: v }))
}

function mapOps(metadata: JsonObject, map: 'annotations' | 'labels', add: Record<string, string>): PatchOperation[] {
  if (!isObject(metadata[map])) return [{ op: 'add', path: pointer('metadata', map), value: add }]
  return Object.entries(add).map(([k, v]) => ({ op: 'add' as const, path: pointer('metadata', map, k), value: v }))
}

interface PodShape {
  readonly metadata: JsonObject
  readonly spec: JsonObject
  readonly annotations: Record<string, string>
  readonly labels: Record<string, string>
}

/** The parts of a pod the mutation reads, checked; problems name the field. */
function podShape(pod: unknown): PodShape | { problems: PodProblem[] } {
  if (!isObject(pod)) return { problems: [{ field: 'request.object', message: 'is not a Pod object' }] }
  const problems: PodProblem[] = []
  if (pod.kind !== undefined && pod.kind !== 'Pod') {
    problems.push({ field: 'request.object.kind', message: `${JSON.stringify(pod.kind)} is not Pod` })
  }
  const metadata = pod.metadata === undefined ? {} : pod.metadata
  if (!isObject(metadata)) problems.push({ field: 'metadata', message: 'is not an object' })
  const spec = pod.spec
  if (!isObject(spec)) problems.push({ field: 'spec', message: 'is missing or not an object' })
  else {
    if (!Array.isArray(spec.containers) || spec.containers.length === 0 || !spec.containers.every(isObject)) {
      problems.push({ field: 'spec.containers', message: 'is missing, empty, or not a list of containers' })
    }
    if (
      spec.initContainers !== undefined &&
      (!Array.isArray(spec.initContainers) || !spec.initContainers.every(isObject))
    ) {
      problems.push({ field: 'spec.initContainers', message: 'is not a list of containers' })
    }
    if (spec.volumes !== undefined && !Array.isArray(spec.volumes)) {
      problems.push({ field: 'spec.volumes', message: 'is not a list' })
    }
  }
  const strings = (v: Json | undefined, field: string): Record<string, string> => {
    if (v === undefined || v === null) return {}
    if (!isObject(v) || !Object.values(v).every((x) => typeof x === 'string')) {
      problems.push({ field, message: 'is not a map of strings' })
      return {}
    }
    return v as Record<string, string>
  }
  const annotations = isObject(metadata) ? strings(metadata.annotations, 'metadata.annotations') : {}
  const labels = isObject(metadata) ? strings(metadata.labels, 'metadata.labels') : {}
  if (problems.length > 0) return { problems }
  return { metadata: metadata as JsonObject, spec: spec as JsonObject, annotations, labels }
}

function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}
