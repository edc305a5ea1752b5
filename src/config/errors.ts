import { SidecarError } from '../errors.js'

/** One problem with the configuration: which key, what is wrong with it, and where the value came from. */
export interface ConfigIssue {
  /** Key path as written in the config file: `upstream.bootstrap[1]`, `brokers.ports["7"]`; '' for the whole file. */
  readonly path: string
  /** What is wrong and what was expected, naming the value. */
  readonly message: string
  /** Where the value came from: `config.yaml:12:5`, `KAFKA_SIDECAR_LISTEN`, `--listen`; absent for defaults. */
  readonly origin?: string
}

/** Renders one issue the way the CLI and the logs show it. */
export function formatIssue(issue: ConfigIssue): string {
  const head = issue.path === '' ? issue.message : `${issue.path}: ${issue.message}`
  if (issue.origin === undefined) return head
  return `${head} (${/^[A-Z_]+$|^--/.test(issue.origin) ? 'from' : 'at'} ${issue.origin})`
}

/**
 * The configuration (file, environment and flags together) is invalid. Lists every problem found, not just the first,
 * so an operator can fix them all in one go. `message` is multi-line; `summary` is the same on one line, for logs.
 */
export class ConfigError extends SidecarError {
  readonly issues: readonly ConfigIssue[]
  /** The config file involved, when there was one. */
  readonly file: string | undefined

  constructor(issues: readonly ConfigIssue[], file?: string, code = 'KSC_ERR_CONFIG_INVALID') {
    const where = file === undefined ? '' : ` (${file})`
    const count = issues.length === 1 ? '1 problem' : `${issues.length} problems`
    super(code, `invalid configuration${where}, ${count}:\n${issues.map((i) => `  - ${formatIssue(i)}`).join('\n')}`)
    this.issues = issues
    this.file = file
  }

  /** The whole error on one line. */
  get summary(): string {
    const where = this.file === undefined ? '' : ` (${this.file})`
    return `invalid configuration${where}: ${this.issues.map(formatIssue).join('; ')}`
  }
}

/** The config file could not be read at all (missing, a directory, no permission). */
export class ConfigFileUnreadableError extends ConfigError {
  constructor(file: string, cause: unknown) {
    const why = (cause as NodeJS.ErrnoException | undefined)?.code ?? String(cause)
    super(
      [
        {
          path: '',
          message: `cannot read config file "${file}" (${why}): check the path given by --config or KAFKA_SIDECAR_CONFIG and its permissions`,
        },
      ],
      file,
      'KSC_ERR_CONFIG_UNREADABLE',
    )
  }
}
