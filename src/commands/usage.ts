import { CONFIG_OVERRIDES } from '../config/overrides.js'
import { suggest } from '../config/validator.js'

/**
 * Command-line mistakes: every one is reported as one line, `error KSC_ERR_CLI_USAGE: <problem> (see kafka-sidecar
 * <command> --help)`, with exit code 2 (what grep, ls and the shell's builtins use for usage errors), and never a
 * stack trace. yargs reports a mistake as an English sentence (the CLI pins its locale to `en`); this module turns
 * each kind of sentence into a line that names the flag and what to pass instead.
 */

export const USAGE_EXIT = 2

/** What a usage line needs to know about the command line that failed. */
export interface UsageContext {
  /** The arguments as typed (without node and the script). */
  readonly args: readonly string[]
  /** Every command name. */
  readonly commands: readonly string[]
  /** The command named on the command line, when it is one of `commands`. */
  readonly command?: string
  /** The options that command takes, without dashes (for "did you mean"). */
  readonly options?: readonly string[]
  /** Allowed values of the options that have a fixed set. */
  readonly choices?: Readonly<Record<string, readonly string[]>>
}

export interface UsageProblem {
  /** One line, without the `error KSC_ERR_CLI_USAGE:` head and the `(see ... --help)` tail. */
  readonly problem: string
  /** True when the full usage (with the command list) should be shown above the line: no command was named. */
  readonly showHelp: boolean
}

/** The line written to stderr for a usage problem, newline included. */
export function usageLine(problem: string, command?: string): string {
  const help = command === undefined ? 'kafka-sidecar --help' : `kafka-sidecar ${command} --help`
  return `error KSC_ERR_CLI_USAGE: ${oneLine(problem)} (see ${help})\n`
}

/** The command token of a command line: the first argument that is not an option. */
export function commandToken(args: readonly string[]): string | undefined {
  return args.find((a) => !a.startsWith('-'))
}

/** What a value of each flag looks like, for "--flag needs a value: --flag <this>". */
const VALUE_PLACEHOLDERS: Readonly<Record<string, string>> = {
  ...Object.fromEntries(CONFIG_OVERRIDES.map((o) => [o.flag, o.placeholder])),
  config: 'FILE',
  dir: 'DIR',
  client: 'NAME[:spiffe://trust-domain/path]',
  host: 'HOST',
  days: 'DAYS',
  nodes: 'N',
  'kafka-version': 'VERSION',
  interval: 'MILLISECONDS',
  'api-key': 'KEY',
  'api-version': 'VERSION',
}

/** `--name <placeholder>`, with the choices when the flag has a fixed set. */
export function flagWithValue(name: string, choices?: readonly string[]): string {
  if (choices !== undefined && choices.length > 0) return `--${name} ${choices.join('|')}`
  return `--${name} ${VALUE_PLACEHOLDERS[name] ?? 'VALUE'}`
}

/** `--name needs a value: --name <placeholder>`. */
export function missingValue(name: string, choices?: readonly string[]): string {
  return `--${name} needs a value: ${flagWithValue(name, choices)}`
}

/** Turns one of yargs' failure messages into one line naming the problem and the fix. */
export function describeYargsFailure(message: string, ctx: UsageContext): UsageProblem {
  const token = commandToken(ctx.args)
  const m = (re: RegExp) => re.exec(message)

  let match = m(/^Not enough arguments following: (.+)$/)
  if (match) {
    const name = match[1]!.trim()
    return { problem: missingValue(name, ctx.choices?.[name]), showHelp: false }
  }

  match = m(/^Not enough non-option arguments: got (\d+), need at least (\d+)/)
  if (match) {
    if (ctx.command === undefined) {
      return {
        problem: `no command given: kafka-sidecar <command> [options], <command> being one of ${ctx.commands.join(', ')}`,
        showHelp: true,
      }
    }
    if (ctx.command === 'certs') return { problem: 'certs needs an action: kafka-sidecar certs init', showHelp: false }
    return { problem: `${ctx.command} needs more arguments`, showHelp: false }
  }

  match = m(/^Did you mean (.+)\?$/)
  if (match) return { problem: unknownCommand(token ?? '', ctx, match[1]), showHelp: false }

  match = m(/^Unknown (?:argument|arguments|command|commands): (.+)$/)
  if (match) {
    // yargs names an unknown --foo-bar twice, also as fooBar.
    const all = match[1]!.split(', ').map((n) => n.trim())
    const names = all.filter((n) => !(/[A-Z]/.test(n) && all.includes(kebab(n))))
    if (ctx.command === undefined && token !== undefined) {
      return { problem: unknownCommand(token, ctx), showHelp: false }
    }
    return { problem: names.map((n) => unknownArgument(n, ctx)).join('; '), showHelp: false }
  }

  if (message.startsWith('Invalid values:')) {
    const problems: string[] = []
    for (const line of message.split('\n').slice(1)) {
      const v = /Argument: (.+?), Given: (.+?), Choices: (.+)$/.exec(line.trim())
      if (!v) continue
      const choices = v[3]!.split(', ').map((c) => unquote(c))
      const given = unquote(v[2]!)
      const near = suggest(given, choices)
      const fix = `${choices.join(', ')}${near === undefined ? '' : ` (did you mean ${near}?)`}`
      problems.push(
        typedAsOption(v[1]!, ctx.args)
          ? `--${v[1]} ${JSON.stringify(given)} is not one of ${fix}`
          : `${ctx.command ?? 'kafka-sidecar'} ${v[1]} ${JSON.stringify(given)} is not one of ${fix}`,
      )
    }
    if (problems.length > 0) return { problem: problems.join('; '), showHelp: false }
  }

  match = m(/^Arguments (.+) and (.+) are mutually exclusive$/)
  if (match) return { problem: `--${match[1]} and --${match[2]} exclude each other: pass one`, showHelp: false }

  match = m(/^Missing required arguments?: (.+)$/)
  if (match) {
    const names = match[1]!.split(', ').map((n) => n.trim())
    return { problem: `missing ${names.map((n) => flagWithValue(n, ctx.choices?.[n])).join(', ')}`, showHelp: false }
  }

  return { problem: message, showHelp: ctx.command === undefined && token === undefined }
}

/** The parts of yargs' getOptions() the value check reads. */
export interface DeclaredOptions {
  readonly key: Readonly<Record<string, unknown>>
  readonly array: readonly string[]
  readonly number: readonly string[]
  /** Options declared with `requiresArg`. */
  readonly narg: Readonly<Record<string, unknown>>
  readonly choices: Readonly<Record<string, readonly unknown[]>>
}

/** Flags that may be given several times and keep every value; any other flag given twice keeps its last value. */
const REPEATABLE = new Set(CONFIG_OVERRIDES.filter((o) => o.kind === 'list').map((o) => o.flag))

/**
 * What yargs lets through for flags typed on the command line: an empty value (`--config=`) for a flag that needs
 * one, and a number flag whose value is not a number (`--nodes three`, which yargs turns into NaN). Also makes a
 * single-value flag given twice keep its last value (`--config a --config b` is `b`, as in most CLIs), which yargs
 * would hand over as a list. Returns the problem, or undefined; `argv` is updated in place.
 */
export function checkOptionValues(
  argv: Record<string, unknown>,
  options: DeclaredOptions,
  args: readonly string[],
): string | undefined {
  for (const name of Object.keys(options.key)) {
    if (name === 'help' || name === 'version' || !typedAsOption(name, args)) continue
    let value = argv[name]
    if (Array.isArray(value) && !options.array.includes(name) && !REPEATABLE.has(name)) {
      value = value[value.length - 1]
      argv[name] = value
      argv[camelCase(name)] = value
    }
    const values = Array.isArray(value) ? value : [value]
    const choices = options.choices[name]?.map(String)
    if (name in options.narg && values.some((v) => v === '' || v === undefined)) return missingValue(name, choices)
    if (options.number.includes(name) && values.some((v) => typeof v !== 'number' || Number.isNaN(v))) {
      const raw = rawValue(name, args)
      return `--${name} ${raw === undefined ? 'needs' : `${JSON.stringify(raw)} is not`} a number: ${flagWithValue(name)}`
    }
  }
  return undefined
}

/** The text typed after `--name` (or in `--name=text`), the last one when given several times. */
function rawValue(name: string, args: readonly string[]): string | undefined {
  let raw: string | undefined
  args.forEach((a, i) => {
    if (a === `--${name}` && i + 1 < args.length && !args[i + 1]!.startsWith('--')) raw = args[i + 1]
    else if (a.startsWith(`--${name}=`)) raw = a.slice(name.length + 3)
  })
  return raw
}

function camelCase(s: string): string {
  return s.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase())
}

function unknownCommand(token: string, ctx: UsageContext, yargsGuess?: string): string {
  // yargs' own guess ("foo" -> top) is any command within a wide edit distance; ours only suggests near typos.
  const near = suggest(token, ctx.commands) ?? (yargsGuess !== undefined && suggest(token, [yargsGuess]))
  const list = `the commands are ${ctx.commands.join(', ')}`
  return `unknown command ${JSON.stringify(token)}${near ? ` (did you mean ${near}?)` : ''}: ${list}`
}

function unknownArgument(name: string, ctx: UsageContext): string {
  const where = ctx.command === undefined ? 'kafka-sidecar' : ctx.command
  if (!typedAsOption(name, ctx.args)) {
    const takes = ctx.command === 'validate-config' ? 'one config file' : 'no other arguments'
    return `unexpected argument ${JSON.stringify(name)}: ${where} takes ${takes} (options start with --)`
  }
  // yargs reads --no-foo as foo=false and names it foo.
  const typed = ctx.args.some((a) => /^--?no-/.test(a) && a.replace(/^--?no-/, '').split('=')[0] === name)
    ? `no-${name}`
    : name
  const near = ctx.options === undefined ? undefined : suggest(typed, ctx.options)
  return `unknown option --${typed} for ${where}${near === undefined ? '' : ` (did you mean --${near}?)`}`
}

/** True when `name` was typed as an option (`--name`, `--name=...`, `--no-name`, `-n`), not as a plain argument. */
export function typedAsOption(name: string, args: readonly string[]): boolean {
  return args.some((a) => {
    if (!a.startsWith('-')) return false
    const bare = a.replace(/^-{1,2}/, '').split('=')[0]!
    return bare === name || bare === `no-${name}`
  })
}

function unquote(s: string): string {
  const t = s.trim()
  return t.length >= 2 && t.startsWith('"') && t.endsWith('"') ? t.slice(1, -1) : t
}

function kebab(s: string): string {
  return s.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)
}

function oneLine(s: string): string {
  return s
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '')
    .join('; ')
}
