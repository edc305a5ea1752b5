import type { CommandModule } from 'yargs'

/**
 * What every command module under src/commands/ exports: a yargs command whose handler does the process work
 * (stdin, stdout, exit code) around a pure function that tests call directly.
 */
// biome-ignore lint/suspicious/noExplicitAny: each command types its own arguments; the list in cli.ts holds them all.
export type CliCommand = CommandModule<any, any>

/** A command's outcome, written to the process by `emit`. */
export interface CommandResult {
  readonly exitCode: number
  readonly stdout: string
  readonly stderr: string
}

/** Writes a result to stdout/stderr and sets the exit code (without exiting, so pending writes are flushed). */
export function emit(result: CommandResult): void {
  if (result.stdout !== '') process.stdout.write(result.stdout)
  if (result.stderr !== '') process.stderr.write(result.stderr)
  process.exitCode = result.exitCode
}

/** All of stdin as one Buffer. */
export async function readStdin(): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks)
}
