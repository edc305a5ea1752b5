import { Counter, Gauge, type Registry } from 'prom-client'
import type { FilterCounter, FilterGauge, FilterMetrics } from '../pipeline/filter-api.js'
import { LabelCap, OTHER } from './label-cap.js'
import { METRIC_PREFIX } from './prometheus.js'

/**
 * Metrics of the feature filters, on the same registry (/metrics) as the sidecar's own: every name is
 * `kafka_sidecar_filter_<filter>_<name>`, and `client_id` label values are capped like the statistics' (the first
 * `maxClientIds` distinct ids keep their own value, later ones read "other"), because client ids are chosen by
 * clients. A metric asked for again (a filter rebuilt by a hot reload) is the same metric, so its counts go on.
 */
export class FilterMetricsRegistry {
  private readonly metrics = new Map<string, { kind: 'counter' | 'gauge'; metric: Counter<string> | Gauge<string> }>()
  private readonly clientIds: LabelCap

  constructor(
    private readonly registry: Registry,
    maxClientIds: number,
  ) {
    this.clientIds = new LabelCap(maxClientIds)
  }

  /** The registry for one filter, by its plugin name. */
  forFilter(filterName: string): FilterMetrics {
    const prefix = `${METRIC_PREFIX}filter_${sanitize(filterName)}_`
    return {
      counter: (name, help, labelNames = []) => {
        const c = this.metric('counter', prefix + sanitize(name), help, labelNames) as Counter<string>
        return {
          inc: (labels, value) => (labels === undefined ? c.inc(value ?? 1) : c.inc(this.capped(labels), value ?? 1)),
        } satisfies FilterCounter
      },
      gauge: (name, help, labelNames = []) => {
        const g = this.metric('gauge', prefix + sanitize(name), help, labelNames) as Gauge<string>
        return {
          set: (labels, value) => g.set(this.capped(labels), value),
          inc: (labels, value) => (labels === undefined ? g.inc(value ?? 1) : g.inc(this.capped(labels), value ?? 1)),
          dec: (labels, value) => (labels === undefined ? g.dec(value ?? 1) : g.dec(this.capped(labels), value ?? 1)),
        } satisfies FilterGauge
      },
    }
  }

  private metric(
    kind: 'counter' | 'gauge',
    name: string,
    help: string,
    labelNames: readonly string[],
  ): Counter<string> | Gauge<string> {
    const known = this.metrics.get(name)
    if (known !== undefined) {
      if (known.kind !== kind) throw new FilterMetricConflictError(name, known.kind, kind)
      return known.metric
    }
    const options = { name, help, labelNames: [...labelNames], registers: [this.registry] }
    const metric = kind === 'counter' ? new Counter(options) : new Gauge(options)
    this.metrics.set(name, { kind, metric })
    return metric
  }

  private capped(labels: Readonly<Record<string, string>>): Record<string, string> {
    const id = labels.client_id
    if (id === undefined || this.clientIds.admit(id)) return { ...labels }
    return { ...labels, client_id: OTHER }
  }
}

export class FilterMetricConflictError extends Error {
  readonly code = 'KSC_ERR_FILTER_METRIC_CONFLICT'
  constructor(name: string, was: string, now: string) {
    super(`metric ${name} is already a ${was}; a filter asked for it as a ${now}: give the ${now} another name`)
  }
}

/** Prometheus metric names allow [a-zA-Z0-9_:] (exposition format); a filter name like "rate-limit" becomes rate_limit. */
function sanitize(name: string): string {
  return name.replace(/[^a-zA-Z0-9_]/g, '_')
}
