/**
 * The once-a-second sweep over the open client connections: each closes itself if a request takes too long to
 * arrive (ClientConnection.sweep), and the connection holding the most is closed when all of them together stay over
 * the memory budget.
 */
import { SidecarError } from '../errors.js'
import type { ClientConnection } from './client-connection.js'
import type { MemoryBudget } from './memory-budget.js'

const SWEEP_INTERVAL_MS = 1000

export class MemoryBudgetError extends SidecarError {
  constructor(total: number, limit: number, held: number) {
    super(
      'KSC_ERR_MEMORY_BUDGET',
      `connections hold ${total} bytes, over limits.memoryBudgetBytes (${limit}); closing the one holding the most (${held} bytes)`,
    )
  }
}

export class ConnectionSweeper {
  private readonly timer: NodeJS.Timeout
  /** Consecutive sweeps that found the connections holding more than the budget. */
  private overBudgetSweeps = 0

  /** Starts sweeping at once; the timer does not keep the process alive. `report` is told before the close. */
  constructor(
    private readonly connections: ReadonlySet<ClientConnection>,
    private readonly budget: MemoryBudget,
    private readonly report: (err: MemoryBudgetError, conn: ClientConnection) => void,
  ) {
    this.timer = setInterval(() => this.sweep(), SWEEP_INTERVAL_MS)
    this.timer.unref()
  }

  stop(): void {
    clearInterval(this.timer)
  }

  /**
   * Once a second: connections whose request takes too long to arrive are closed (ClientConnection.sweep), and when
   * the connections together hold more than the memory budget for two sweeps in a row (answers a client does not
   * read, requests waiting for slow filters: memory that reading pauses do not free), the one holding the most is
   * closed, so one offender cannot take the sidecar, and every other client, down.
   */
  private sweep(): void {
    const now = performance.now()
    let total = 0
    let largest: ClientConnection | undefined
    let largestBytes = 0
    for (const conn of this.connections) {
      conn.sweep(now)
      const held = conn.heldBytes()
      total += held
      if (held > largestBytes) {
        largestBytes = held
        largest = conn
      }
    }
    if (total <= this.budget.limit || largest === undefined) {
      this.overBudgetSweeps = 0
      return
    }
    if (++this.overBudgetSweeps < 2) return
    this.overBudgetSweeps = 0
    const err = new MemoryBudgetError(total, this.budget.limit, largestBytes)
    this.report(err, largest)
    largest.close(err.message)
  }
}
