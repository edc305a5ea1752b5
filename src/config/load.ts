import { readFileSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { isMap, isScalar, isSeq, LineCounter, parseDocument } from 'yaml'
import { ConfigError, ConfigFileUnreadableError, type ConfigIssue } from './errors.js'
import type { FilterCheck } from './filters-section.js'
import type { LogFormat } from './log-section.js'
import { CONFIG_FILE_ENV, environmentLayer, flagLayer, type OverrideLayer } from './overrides.js'
import { type SidecarConfig, validateConfig } from './schema.js'
import { type PathSegment, pathString } from './validator.js'

export type Environment = Readonly<Record<string, string | undefined>>

export interface LoadConfigInput {
  /** Config file path; when absent, KAFKA_SIDECAR_CONFIG in `env`; when neither, no file (defaults + overrides). */
  file?: string
  /** Usually process.env. */
  env?: Environment
  /** Parsed CLI flags, keyed by the flag names of CONFIG_OVERRIDES (kebab-case or camelCase). */
  flags?: Readonly<Record<string, unknown>>
  /** Default true: `run` cannot start without upstream brokers. */
  requireUpstream?: boolean
  /** Default true: check that TLS files named in the config are readable. */
  checkFiles?: boolean
  /** Check `filters` entries against the filters that exist (src/filter-registry.ts withFilterChecks). */
  checkFilters?: FilterCheck
  /** log.format when neither the file, the environment nor a flag sets it; default json. */
  defaultLogFormat?: LogFormat
}

/** The config file the input points at, as an absolute path, or undefined. */
export function configFilePath(input: LoadConfigInput): string | undefined {
  const file = input.file ?? emptyToUndefined(input.env?.[CONFIG_FILE_ENV])
  return file === undefined ? undefined : resolve(file)
}

/**
 * Loads the configuration: defaults < file < environment < flags. Throws ConfigError listing every problem
 * (ConfigFileUnreadableError when the file cannot be read).
 */
export function loadConfig(input: LoadConfigInput): SidecarConfig {
  const file = configFilePath(input)
  let text: string | undefined
  if (file !== undefined) {
    try {
      text = readFileSync(file, 'utf8')
    } catch (err) {
      throw new ConfigFileUnreadableError(file, err)
    }
  }
  return loadConfigFromText(input, file, text)
}

/** loadConfig with the file's content already read (the reload watcher compares contents before reloading). */
export function loadConfigFromText(
  input: LoadConfigInput,
  file: string | undefined,
  text: string | undefined,
): SidecarConfig {
  const parsed = text === undefined ? { raw: {}, locate: () => undefined } : parseConfigText(text, file ?? 'config')
  if (parsed.raw !== null && parsed.raw !== undefined && !isPlainMapping(parsed.raw)) {
    const got = Array.isArray(parsed.raw) ? 'a list' : JSON.stringify(parsed.raw)
    throw new ConfigError(
      [{ path: '', message: `the config file must be a YAML mapping of sections (listen, upstream, ...), got ${got}` }],
      file,
    )
  }
  const env = environmentLayer(input.env ?? {})
  const flags = flagLayer(input.flags ?? {})
  const merged = deepMerge(deepMerge(parsed.raw, env.raw), flags.raw)
  const result = validateConfig(merged, {
    requireUpstream: input.requireUpstream ?? true,
    baseDir: file === undefined ? process.cwd() : dirname(file),
    checkFiles: input.checkFiles ?? true,
    ...(input.checkFilters === undefined ? {} : { checkFilters: input.checkFilters }),
    ...(input.defaultLogFormat === undefined ? {} : { defaultLogFormat: input.defaultLogFormat }),
  })
  const issues: ConfigIssue[] = [...env.issues, ...flags.issues]
  for (const raw of result.issues) {
    // Flags override the environment, which overrides the file: the first layer that set the key is its origin.
    const origin = originOf(flags, raw.segments) ?? originOf(env, raw.segments) ?? parsed.locate(raw.segments)
    issues.push(
      origin === undefined
        ? { path: pathString(raw.segments), message: raw.message }
        : { path: pathString(raw.segments), message: raw.message, origin },
    )
  }
  if (issues.length > 0 || result.config === undefined) throw new ConfigError(issues, file)
  return result.config
}

interface ParsedConfigText {
  readonly raw: unknown
  /** `file:line:col` of the key at this path (or of its closest ancestor present in the file). */
  locate(segments: readonly PathSegment[]): string | undefined
}

/** Parses YAML; syntax errors become a ConfigError with `file:line:col` for each. */
export function parseConfigText(text: string, file: string): ParsedConfigText {
  const lineCounter = new LineCounter()
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true })
  const where = (offset: number): string => {
    const { line, col } = lineCounter.linePos(offset)
    return `${file}:${line}:${col}`
  }
  if (doc.errors.length > 0) {
    throw new ConfigError(
      doc.errors.map((e) => ({
        path: '',
        message: `YAML syntax error: ${e.message.split('\n')[0]}`,
        origin: where(e.pos[0]),
      })),
      file,
    )
  }
  let raw: unknown
  try {
    raw = doc.toJS({ maxAliasCount: 100 })
  } catch (err) {
    throw new ConfigError(
      [{ path: '', message: `YAML could not be read: ${(err as Error).message}`, origin: file }],
      file,
    )
  }
  return {
    raw,
    locate(segments) {
      let node: unknown = doc.contents
      let offset: number | undefined
      for (const seg of segments) {
        if (isMap(node)) {
          const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(seg))
          if (pair === undefined || !isScalar(pair.key)) break
          offset = pair.key.range?.[0]
          node = pair.value
        } else if (isSeq(node) && typeof seg === 'number' && node.items[seg] !== undefined) {
          const item = node.items[seg] as { range?: [number, number, number] }
          offset = item.range?.[0]
          node = item
        } else break
      }
      return offset === undefined ? undefined : where(offset)
    },
  }
}

function originOf(layer: OverrideLayer, segments: readonly PathSegment[]): string | undefined {
  let best: { key: readonly PathSegment[]; origin: string } | undefined
  for (const o of layer.origins) {
    if (o.key.length <= segments.length && o.key.every((k, i) => segments[i] === k)) {
      if (best === undefined || o.key.length > best.key.length) best = o
    }
  }
  return best?.origin
}

/** Mappings merge key by key; anything else (lists included) is replaced by the later layer. */
function deepMerge(base: unknown, over: unknown): unknown {
  if (!isPlainMapping(base) || !isPlainMapping(over)) return over === undefined ? base : over
  const out: Record<string, unknown> = { ...base }
  for (const [k, v] of Object.entries(over)) out[k] = deepMerge(base[k], v)
  return out
}

function isPlainMapping(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

function emptyToUndefined(s: string | undefined): string | undefined {
  return s === undefined || s.trim() === '' ? undefined : s
}
