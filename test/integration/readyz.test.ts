import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { KafkaCluster, waitFor } from '../harness/index.js'
import { type StatsSidecar, startStatsSidecar } from '../support/stats-sidecar.js'

/**
 * /readyz follows the brokers: unready (503, with the reason) while none is reachable, ready again when they are
 * back. A cluster of its own: its only node is stopped, which the shared clusters must never see.
 */
describe('/readyz when every upstream broker goes down and comes back', () => {
  let cluster: KafkaCluster
  let sc: StatsSidecar

  beforeAll(async () => {
    cluster = await KafkaCluster.start({ nodes: 1, name: 'readyz' })
    sc = await startStatsSidecar(cluster.bootstrapServers)
  })
  afterAll(async () => {
    await sc?.stop()
    await cluster?.stop()
  })

  const readyz = async () => {
    const res = await fetch(`${sc.adminUrl}/readyz`)
    return { status: res.status, body: (await res.json()) as { status: string; reason?: string } }
  }

  it('is 200 while a broker answers, 503 with a reason while none does, 200 again after the restart', async () => {
    expect(await readyz()).toEqual({ status: 200, body: { status: 'ready' } })
    expect((await fetch(`${sc.adminUrl}/healthz`)).status).toBe(200)

    await cluster.stopNode(1)
    const down = await readyz()
    expect(down.status).toBe(503)
    expect(down.body.status).toBe('not ready')
    expect(down.body.reason).toMatch(/^no upstream broker reachable: .*connection refused/)
    // The process is still alive and says so.
    expect((await fetch(`${sc.adminUrl}/healthz`)).status).toBe(200)

    await cluster.startNode(1)
    await waitFor('ready again', async () => (await readyz()).status === 200, { timeoutMs: 30_000 })
    expect(await readyz()).toEqual({ status: 200, body: { status: 'ready' } })
  })
})
