import { pino } from 'pino'
import { type HostPort, parseHostPort } from '../../src/config/host-port.js'
import { UpstreamConnector, type UpstreamTls } from '../../src/server/upstream-connector.js'
import { UpstreamClient, type UpstreamClientOptions } from '../../src/upstream-client/client.js'
import { runKcat } from '../harness/kcat.js'

/** Helpers shared by the upstream client's tests against real brokers. */

export function hostPorts(list: string): HostPort[] {
  return list.split(',').map((s) => {
    const hp = parseHostPort(s)
    if ('error' in hp) throw new Error(`${s}: ${hp.error}`)
    return hp
  })
}

export function newClient(
  bootstrap: string,
  extra: Partial<UpstreamClientOptions> & { tls?: UpstreamTls } = {},
): UpstreamClient {
  const { tls, ...rest } = extra
  return new UpstreamClient({
    bootstrap: hostPorts(bootstrap),
    connector: new UpstreamConnector(10_000, tls),
    clientId: 'ksc-upstream-client-test',
    log: pino({ level: 'silent' }),
    ...rest,
  })
}

/** One record as kcat -J prints it (librdkafka's JSON consumer output). */
export interface KcatRecord {
  topic: string
  partition: number
  offset: number
  tstype: string
  ts: number
  key: string | null
  payload: string | null
  /** Flat list: name, value, name, value, ... (absent when the record has no headers). */
  headers?: (string | null)[]
}

/** Every record of a topic, read by kcat (a client nobody here wrote) from the beginning to the end. */
export async function kcatRead(bootstrap: string, topic: string, extra: readonly string[] = []): Promise<KcatRecord[]> {
  const result = await runKcat(['-b', bootstrap, ...extra, '-C', '-t', topic, '-o', 'beginning', '-e', '-J', '-q'])
  if (result.code !== 0) throw new Error(`kcat failed (${result.code}): ${result.stderr}`)
  return result.stdout
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as KcatRecord)
}
