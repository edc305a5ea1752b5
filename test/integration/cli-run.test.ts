import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Kafka, logLevel } from 'kafkajs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ApiKey } from '../../codec/messages/generated/apis.js'
import type { FetchResponse } from '../../codec/messages/generated/fetch-response.js'
import { SIDECAR_NODE_FLAGS } from '../../src/runtime/node-flags.js'
import { getCluster, runKcat, uniqueTopicName, waitFor } from '../harness/index.js'
import { RawKafkaClient } from '../support/raw-client.js'
import { parseStrictJson } from '../support/strict-json.js'
import { freePortBase } from '../support/test-sidecar.js'

const CLI = new URL('../../dist/src/cli.js', import.meta.url).pathname

interface Proc {
  child: ChildProcess
  lines: Record<string, unknown>[]
  /** stdout lines a strict JSON reader refuses (a field name twice), with why. */
  notStrict: string[]
  exited: Promise<number | null>
}

function start(args: string[]): Proc {
  // Started as the executable and the image start it (src/runtime/node-flags.ts).
  const child = spawn(process.execPath, [...SIDECAR_NODE_FLAGS, CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
  const lines: Record<string, unknown>[] = []
  const notStrict: string[] = []
  let buffered = ''
  child.stdout!.on('data', (c: Buffer) => {
    buffered += c.toString()
    const parts = buffered.split('\n')
    buffered = parts.pop()!
    for (const p of parts) {
      if (!p.trim()) continue
      try {
        parseStrictJson(p)
      } catch (err) {
        notStrict.push(`${(err as Error).message}: ${p}`)
      }
      lines.push(JSON.parse(p))
    }
  })
  child.stderr!.on('data', (c: Buffer) => lines.push({ stderr: c.toString() }))
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
  return { child, lines, notStrict, exited }
}

const hasLine = (p: Proc, msg: string) => p.lines.some((l) => l.msg === msg)

describe('kafka-sidecar run: configuration file, hot reload, SIGHUP and SIGTERM drain', () => {
  const cluster = getCluster('single')
  let dir: string
  let file: string
  let base: number
  let proc: Proc
  const yaml = (extra: string) =>
    [
      `listen: { host: 127.0.0.1, port: ${base} }`,
      `brokers: { host: 127.0.0.1, advertisedHost: 127.0.0.1, portBase: ${base} }`,
      `upstream: { bootstrap: [${cluster.description.bootstrapServers}] }`,
      `admin: { host: 127.0.0.1, port: ${base + 9} }`,
      extra,
    ].join('\n')

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ksc-run-'))
    file = join(dir, 'sidecar.yaml')
    base = await freePortBase(10)
    await writeFile(file, yaml('log: { level: info }'))
    proc = start(['run', '--config', file])
    await waitFor(
      'sidecar ready',
      async () => (await fetch(`http://127.0.0.1:${base + 9}/readyz`).catch(() => undefined))?.ok,
      {
        timeoutMs: 30_000,
      },
    )
  })
  afterAll(async () => {
    proc?.child.kill('SIGKILL')
    await rm(dir, { recursive: true, force: true })
  })

  it('serves clients and reports ready', async () => {
    const md = await runKcat(['-b', `127.0.0.1:${base}`, '-L', '-J', '-m', '15'])
    expect(md.code, md.stderr).toBe(0)
    expect(JSON.parse(md.stdout).brokers[0].name).toBe(`127.0.0.1:${base + 1}`)
    const health = await fetch(`http://127.0.0.1:${base + 9}/healthz`)
    expect(health.status).toBe(200)
    // Started with the recommended Node flags: no warning about them.
    expect(proc.lines.filter((l) => String(l.msg ?? '').includes('node was started without'))).toEqual([])
  })

  it('applies a valid changed file without dropping open connections', async () => {
    const client = await RawKafkaClient.connect(`127.0.0.1:${base}`)
    await writeFile(file, yaml('log: { level: debug, frames: true }'))
    await waitFor('reload applied', () => hasLine(proc, 'configuration reloaded'), { timeoutMs: 15_000 })
    // The connection opened before the reload still works, and frame logging is now on.
    await client.request(ApiKey.Metadata, 4, { topics: [], allowAutoTopicCreation: false })
    await waitFor('frame lines', () => proc.lines.some((l) => l.frame === true && l.dir === 'request'), {
      timeoutMs: 10_000,
    })
    client.close()
  })

  it('rejects an invalid file with a log line and keeps the old configuration', async () => {
    await writeFile(file, yaml('log: { level: loud }\nlimits: { maxFrameBytes: -5 }'))
    await waitFor(
      'rejection logged',
      () =>
        proc.lines.some(
          (l) => String(l.msg ?? '').includes('KSC_ERR_CONFIG_INVALID') || l.code === 'KSC_ERR_CONFIG_INVALID',
        ),
      {
        timeoutMs: 15_000,
      },
    )
    const md = await runKcat(['-b', `127.0.0.1:${base}`, '-L', '-m', '15'])
    expect(md.code, md.stderr).toBe(0)
    expect(proc.child.exitCode).toBeNull()
  })

  it('reloads on SIGHUP', async () => {
    await writeFile(file, yaml('log: { level: info, frames: false }'))
    const before = proc.lines.filter((l) => l.msg === 'configuration reloaded').length
    proc.child.kill('SIGHUP')
    await waitFor('SIGHUP reload', () => proc.lines.filter((l) => l.msg === 'configuration reloaded').length > before, {
      timeoutMs: 15_000,
    })
  })

  it('SIGTERM: stops accepting, lets an in-flight request finish, then exits 0', async () => {
    const topic = uniqueTopicName('drain')
    const admin = new Kafka({
      brokers: cluster.description.bootstrapServers.split(','),
      logLevel: logLevel.NOTHING,
    }).admin()
    await admin.connect()
    await admin.createTopics({ topics: [{ topic, numPartitions: 1, replicationFactor: 1 }], waitForLeaders: true })
    await admin.disconnect()

    const client = await RawKafkaClient.connect(`127.0.0.1:${base}`)
    // A long-poll Fetch on an empty partition: the broker holds it for maxWaitMs.
    const started = Date.now()
    const fetching = client.request<FetchResponse>(ApiKey.Fetch, 11, {
      replicaId: -1,
      maxWaitMs: 3000,
      minBytes: 1,
      maxBytes: 1 << 20,
      isolationLevel: 0,
      sessionId: 0,
      sessionEpoch: -1,
      topics: [
        {
          topic,
          partitions: [
            { partition: 0, currentLeaderEpoch: -1, fetchOffset: 0n, logStartOffset: -1n, partitionMaxBytes: 1 << 20 },
          ],
        },
      ],
      forgottenTopicsData: [],
      rackId: '',
    })
    await new Promise((r) => setTimeout(r, 300))
    proc.child.kill('SIGTERM')
    await waitFor('drain started', () => hasLine(proc, 'draining connections'), { timeoutMs: 5000 })
    // New connections are refused while draining.
    await expect(RawKafkaClient.connect(`127.0.0.1:${base}`)).rejects.toThrow()
    const res = await fetching
    expect(Date.now() - started).toBeGreaterThanOrEqual(2500)
    expect(res.responses[0]!.partitions[0]!.errorCode).toBe(0)
    await client.closed
    expect(await proc.exited).toBe(0)
    expect(hasLine(proc, 'shut down')).toBe(true)
  })

  it('wrote every log line as strict JSON: no field name twice in a line', () => {
    expect(proc.lines.some((l) => l.msg === 'connection closed')).toBe(true)
    expect(proc.notStrict).toEqual([])
  })
})
