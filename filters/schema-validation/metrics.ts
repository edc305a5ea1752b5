import type { FilterCounter, FilterGauge, FilterMetrics } from '../../src/pipeline/filter-api.js'
import type { RegistryCallObserver } from './schema-registry.js'

/**
 * The filter's series (served as kafka_sidecar_filter_schema_validation_*): records per client, topic and rule, by
 * outcome; partitions answered with an error; the registry's calls, their time and whether it is up. Counted once per
 * partition, not per record.
 */
export class SchemaValidationMetrics implements RegistryCallObserver {
  readonly checked: FilterCounter
  readonly passed: FilterCounter
  readonly rejected: FilterCounter
  readonly unchecked: FilterCounter
  readonly partitionsRejected: FilterCounter
  readonly dropped: FilterCounter
  private readonly registryCalls: FilterCounter
  private readonly registrySeconds: FilterCounter
  private readonly registryUp: FilterGauge
  readonly schemasCached: FilterGauge

  constructor(m: FilterMetrics) {
    const labels = ['client_id', 'topic', 'rule']
    this.checked = m.counter('records_checked_total', 'Produced records checked against a rule', labels)
    this.passed = m.counter('records_passed_total', 'Produced records that passed their rule', labels)
    this.rejected = m.counter('records_rejected_total', 'Produced records that failed their rule, by reason', [
      ...labels,
      'reason',
    ])
    this.unchecked = m.counter(
      'records_unchecked_total',
      'Produced records passed unchecked: the registry was unreachable and the rule fails open',
      labels,
    )
    this.partitionsRejected = m.counter(
      'partitions_rejected_total',
      'Produce partitions answered with an error by schema validation, by error',
      [...labels, 'error'],
    )
    this.dropped = m.counter(
      'partitions_dropped_total',
      'acks=0 produce partitions that failed schema validation and were dropped (no response carries the error)',
      labels,
    )
    this.registryCalls = m.counter('registry_requests_total', 'Calls to the schema registry, by outcome', ['outcome'])
    this.registrySeconds = m.counter(
      'registry_request_seconds_total',
      'Time spent in schema registry calls (divide by registry_requests_total for the mean)',
      ['outcome'],
    )
    this.registryUp = m.gauge(
      'registry_up',
      '1 while the schema registry answers, 0 after a failed call until one succeeds',
    )
    this.schemasCached = m.gauge('schemas_cached', 'Registry schemas held by id')
    this.registryUp.set({}, 1)
  }

  call(outcome: 'ok' | 'not_found' | 'error', seconds: number): void {
    this.registryCalls.inc({ outcome })
    this.registrySeconds.inc({ outcome }, seconds)
  }

  state(up: boolean): void {
    this.registryUp.set({}, up ? 1 : 0)
  }
}
