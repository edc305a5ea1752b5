import { Writable } from 'node:stream'
import { parseStrictJson } from './strict-json.js'

/**
 * Where the sidecars the tests start write their logs: every line is read with the strict JSON parser (no field
 * name twice in a line, as strict log pipelines demand), and any line that fails is kept as a problem, for the
 * sidecar's stop() (or a test) to fail on. The sidecar logs through a plain pino logger here, not createLogger: the
 * production logger merges repeated names (src/logger.ts), which would hide the code that repeats them.
 */

export interface LogLineProblem {
  readonly line: string
  readonly problem: string
}

export interface StrictLogSink {
  /** The pino destination. */
  readonly stream: Writable
  /** Every line, parsed (leniently when it failed the strict reading, so tests can still look at it). */
  readonly lines: Record<string, unknown>[]
  /** Lines the strict parser refused. */
  readonly problems: readonly LogLineProblem[]
  /** Throws, listing the lines, when any line failed the strict reading. */
  assertStrict(who?: string): void
}

export interface StrictLogSinkOptions {
  /** Keep the parsed lines (default true); false only checks them. */
  keep?: boolean
  /** Also copy every line here (e.g. process.stdout, to watch a test's logs). */
  echo?: NodeJS.WritableStream
}

export function strictLogSink(options: StrictLogSinkOptions = {}): StrictLogSink {
  const lines: Record<string, unknown>[] = []
  const problems: LogLineProblem[] = []
  let partial = ''
  const take = (line: string): void => {
    if (line.trim() === '') return
    let parsed: Record<string, unknown>
    try {
      parsed = parseStrictJson(line) as Record<string, unknown>
    } catch (err) {
      problems.push({ line, problem: (err as Error).message })
      parsed = JSON.parse(line) as Record<string, unknown>
    }
    if (options.keep !== false) lines.push(parsed)
  }
  const stream = new Writable({
    write(chunk: Buffer | string, _encoding, done) {
      const text = partial + chunk.toString()
      options.echo?.write(chunk)
      const parts = text.split('\n')
      partial = parts.pop()!
      for (const line of parts) take(line)
      done()
    },
  })
  return {
    stream,
    lines,
    problems,
    assertStrict(who = 'the sidecar') {
      if (problems.length === 0) return
      const shown = problems.slice(0, 5).map((p) => `  ${p.problem}: ${p.line}`)
      throw new Error(
        `${problems.length} log line(s) of ${who} are not strict JSON (a field name twice in one line?):\n${shown.join('\n')}`,
      )
    },
  }
}
