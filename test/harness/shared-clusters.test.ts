import { describe, expect, it } from 'vitest'
import { HarnessConfigError } from './errors.js'
import { DEFAULT_KAFKA_VERSION } from './kafka-jars.js'
import { planSharedClusters } from './shared-clusters.js'

describe('planSharedClusters', () => {
  it('plans single and triple on the default version and a single 3.9 cluster by default', () => {
    const { plans } = planSharedClusters({})
    expect(plans.map((p) => p.name)).toEqual(['single', 'triple', 'single-3.9.2'])
    expect(plans[0]!.version).toBe(DEFAULT_KAFKA_VERSION)
  })

  it('KAFKA_TEST_CLUSTERS keeps only the named clusters', () => {
    const { plans } = planSharedClusters({ KAFKA_TEST_CLUSTERS: 'single' })
    expect(plans).toEqual([{ name: 'single', version: DEFAULT_KAFKA_VERSION, nodes: 1 }])
  })

  it('KAFKA_TEST_CLUSTERS naming a cluster that is not planned is an error listing the planned ones', () => {
    expect(() => planSharedClusters({ KAFKA_TEST_CLUSTERS: 'single,quad' })).toThrow(HarnessConfigError)
    expect(() => planSharedClusters({ KAFKA_TEST_CLUSTERS: 'quad' })).toThrow(/single, triple, single-3.9.2/)
  })
})
