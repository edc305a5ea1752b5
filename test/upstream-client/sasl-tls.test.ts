import { readFileSync } from 'node:fs'
import tls from 'node:tls'
import { describe, expect, it } from 'vitest'
import type { UpstreamTls } from '../../src/server/upstream-connector.js'
import { SaslAuthenticationError } from '../../src/upstream-client/errors.js'
import { createTopic, getCluster, SHARED_SASL_USERS, uniqueTopicName } from '../harness/index.js'
import { kcatRead, newClient } from './support.js'

/**
 * The upstream client's own credentials and TLS against the shared cluster's SASL_PLAINTEXT listener (PLAIN and
 * SCRAM-SHA-512, users alice and bob) and its SSL listener (certificates from the harness' CA; client certificate
 * requested, not required). What was produced is read back by kcat on the plaintext listener.
 */
const cluster = getCluster('single')
const sasl = cluster.description.listeners.saslPlaintext!
const ssl = cluster.description.listeners.ssl!
const sslFiles = cluster.description.ssl!
const [alice, bob] = SHARED_SASL_USERS as [{ name: string; password: string }, { name: string; password: string }]

function upstreamTls(withClientCert: boolean, caFile = sslFiles.caFile): UpstreamTls {
  return {
    secureContext: () =>
      tls.createSecureContext({
        ca: readFileSync(caFile),
        ...(withClientCert && {
          cert: readFileSync(sslFiles.clientCertFile!),
          key: readFileSync(sslFiles.clientKeyFile!),
        }),
      }),
    verifyHostname: true,
    insecureSkipVerify: false,
    caFile,
  }
}

async function roundTrip(client: ReturnType<typeof newClient>, label: string): Promise<void> {
  const topic = uniqueTopicName(`uc-${label}`)
  await createTopic(cluster.description, topic, { partitions: 3 })
  try {
    const values = Array.from({ length: 20 }, (_, i) => `${label}-${i}`)
    const results = await client.produce(
      topic,
      values.map((value, i) => ({ key: `k${i}`, value })),
    )
    expect(results).toHaveLength(20)
    expect(client.health().connected).toBe(true)
    const read = await kcatRead(cluster.bootstrapServers, topic)
    expect(read.map((r) => r.payload).sort()).toEqual([...values].sort())
  } finally {
    await client.close()
  }
}

describe(`upstream client credentials and TLS against ${cluster.name}`, () => {
  it('SASL PLAIN (alice)', async () => {
    const client = newClient(sasl, { sasl: { mechanism: 'PLAIN', username: alice.name, password: alice.password } })
    await roundTrip(client, 'plain')
  })

  it('SASL SCRAM-SHA-512 (bob)', async () => {
    const client = newClient(sasl, {
      sasl: { mechanism: 'SCRAM-SHA-512', username: bob.name, password: bob.password },
    })
    await roundTrip(client, 'scram512')
  })

  it('a wrong password: SaslAuthenticationError with the broker reason, and health says so', async () => {
    const client = newClient(sasl, {
      sasl: { mechanism: 'SCRAM-SHA-512', username: alice.name, password: 'not-her-password' },
    })
    try {
      const err = await client.metadata().catch((e) => e)
      expect(err.cause).toBeInstanceOf(SaslAuthenticationError)
      expect(err.message).toMatch(/SASL SCRAM-SHA-512 authentication to broker .* failed: .*Authentication failed/)
      expect(err.message).not.toContain('not-her-password')
      const health = client.health()
      expect(health.connected).toBe(false)
      expect(health.lastError).toMatch(/SCRAM-SHA-512 authentication .* failed/)
    } finally {
      await client.close()
    }
  })

  it('a mechanism the listener does not enable: the error names the ones it does', async () => {
    const client = newClient(sasl, { sasl: { mechanism: 'SCRAM-SHA-256', username: 'alice', password: 'x' } })
    try {
      const err = await client.metadata().catch((e) => e)
      expect(err.message).toMatch(/does not enable SCRAM-SHA-256; it offers PLAIN, SCRAM-SHA-512/)
    } finally {
      await client.close()
    }
  })

  it('TLS to the SSL listener, verifying the broker certificate against the CA', async () => {
    await roundTrip(newClient(ssl, { tls: upstreamTls(false) }), 'tls')
  })

  it('TLS with a client certificate', async () => {
    await roundTrip(newClient(ssl, { tls: upstreamTls(true) }), 'mtls')
  })

  it('TLS with a CA that did not issue the broker certificate: the connect error says so', async () => {
    // The system's CAs: not the harness CA.
    const client = newClient(ssl, {
      tls: { secureContext: () => tls.createSecureContext(), verifyHostname: true, insecureSkipVerify: false },
    })
    try {
      const err = await client.metadata().catch((e) => e)
      expect(err.message).toMatch(/the broker certificate is not trusted/)
    } finally {
      await client.close()
    }
  })
})
