import { describe, expect, it } from 'vitest'
import { readiness } from '../../src/commands/run.js'
import type { Sidecar, SidecarStatus } from '../../src/server/sidecar.js'

function fakeSidecar(filters: SidecarStatus['filters'], upstream = true): Pick<Sidecar, 'status' | 'checkUpstream'> {
  const status: SidecarStatus = {
    bootstrap: { host: '127.0.0.1', port: 9092 },
    connections: 0,
    upstreamReachable: upstream,
    upstreamError: upstream ? undefined : 'connect ECONNREFUSED 127.0.0.1:9093',
    nodeListeners: [],
    listenCertificate: undefined,
    filters,
  }
  return { status: () => status, checkUpstream: async () => upstream }
}

describe('/readyz', () => {
  it('is ready with every filter dependency shown, down ones included when they do not gate readiness', async () => {
    const r = await readiness(
      fakeSidecar([
        {
          name: 'tap',
          ready: true,
          detail: 'tap cluster unreachable: connect ECONNREFUSED (records are dropped and counted)',
        },
      ]),
    )
    expect(r).toEqual({
      ready: true,
      detail: [
        {
          name: 'tap',
          ready: true,
          detail: 'tap cluster unreachable: connect ECONNREFUSED (records are dropped and counted)',
        },
      ],
    })
  })

  it('is not ready while a filter says a dependency it needs is down, and says which and why', async () => {
    const r = await readiness(
      fakeSidecar([
        { name: 'schema-validation', ready: false, detail: 'schema registry http://registry:8080 unreachable' },
      ]),
    )
    expect(r.ready).toBe(false)
    expect(r.reason).toBe('filter schema-validation: schema registry http://registry:8080 unreachable')
  })

  it('puts an unreachable upstream first', async () => {
    const r = await readiness(fakeSidecar([], false))
    expect(r).toEqual({
      ready: false,
      reason: 'no upstream broker reachable: connect ECONNREFUSED 127.0.0.1:9093',
      detail: [],
    })
  })
})
