import { open, stat } from 'node:fs/promises'

/** At most this much of a log is read back: a broker that failed to start has written far less. */
const MAX_READ_BYTES = 8 * 1024 * 1024

/** Text a log file gained after byte `fromOffset` (a restarted node appends; only the new run explains the new failure). */
export async function readLogSince(file: string, fromOffset = 0): Promise<string> {
  let handle: Awaited<ReturnType<typeof open>>
  try {
    handle = await open(file, 'r')
  } catch {
    return ''
  }
  try {
    const { size } = await handle.stat()
    const start = Math.max(fromOffset, size - MAX_READ_BYTES)
    const buffer = Buffer.alloc(Math.max(0, size - start))
    await handle.read(buffer, 0, buffer.length, start)
    return buffer.toString('utf8')
  } finally {
    await handle.close()
  }
}

/**
 * What an error message should quote from a broker log: the first error lines (a failed start logs its cause
 * early, then pages of orderly shutdown) and the last lines (where it stopped).
 */
export function summarizeLog(text: string, errorLines = 8, tailLines = 15): string {
  const lines = text.split('\n').filter((line) => line.trim() !== '')
  if (lines.length === 0) return '(log is empty)'
  const errors = lines
    .filter((line) => /\b(ERROR|FATAL)\b|^\S*(Exception|Error)\b|^Error:|^Caused by:/.test(line))
    .slice(0, errorLines)
  const tail = lines.slice(-tailLines)
  const parts: string[] = []
  if (errors.length > 0) parts.push('First errors:', ...errors)
  parts.push('Last lines:', ...tail)
  return parts.join('\n')
}

/** Size of a file in bytes, 0 when it does not exist yet. */
export async function fileSize(file: string): Promise<number> {
  try {
    return (await stat(file)).size
  } catch {
    return 0
  }
}
