import { createWriteStream, type WriteStream } from 'node:fs'
import type { Writable } from 'node:stream'
import type { Logger } from 'pino'
import type { AuditEntry, AuditService as AuditSink } from '../pipeline/filter-api.js'
import { AuditWriteError } from './errors.js'

/**
 * The audit log (stats.audit): one JSON line per Produce, per Fetch that returned data, and per administrative
 * request, with the time, the client id, principal, peer, API and the topics (partition count, bytes, records)
 * or resources involved. Appended to a file, or written to stdout ('-') where it interleaves with the log lines,
 * told apart by "type":"audit".
 *
 * Writing never holds up traffic: when the destination cannot keep up (more than MAX_BUFFERED bytes waiting),
 * lines are dropped and counted rather than buffered without bound.
 */

const MAX_BUFFERED = 8 * 1024 * 1024

export class AuditLog implements AuditSink {
  written = 0
  dropped = 0
  private failed = false

  private constructor(
    readonly file: string,
    private readonly out: Writable,
    private readonly owned: boolean,
    private readonly log: Logger | undefined,
  ) {
    out.on('error', (err) => {
      if (!this.failed) {
        this.failed = true
        const e = new AuditWriteError(file, err)
        this.log?.error({ code: e.code, file, err: err.message }, e.message)
      }
    })
  }

  /** `file` is an absolute path (appended to, created if missing) or '-' for stdout. */
  static open(file: string, log?: Logger): AuditLog {
    if (file === '-') return new AuditLog(file, process.stdout, false, log)
    const stream: WriteStream = createWriteStream(file, { flags: 'a' })
    return new AuditLog(file, stream, true, log)
  }

  write(entry: AuditEntry): void {
    if (this.failed || this.out.writableLength > MAX_BUFFERED) {
      this.dropped++
      return
    }
    this.out.write(`${JSON.stringify({ time: new Date().toISOString(), type: 'audit', ...entry })}\n`)
    this.written++
  }

  /** Flushes and closes the file (stdout stays open). */
  close(): Promise<void> {
    if (!this.owned) return Promise.resolve()
    return new Promise((resolve) => this.out.end(() => resolve()))
  }
}
