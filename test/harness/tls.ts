import { mkdir, writeFile } from 'node:fs/promises'
import { isIP } from 'node:net'
import { join } from 'node:path'
import { lastLines, TlsMaterialError } from './errors.js'
import { runCommand } from './run-command.js'

export interface TestTlsMaterial {
  dir: string
  /** CA certificate (PEM) that issued both leaf certificates. */
  caFile: string
  caKeyFile: string
  /** Broker certificate, SANs = the given hosts. */
  certFile: string
  /** Its unencrypted PKCS#8 key (what Kafka's PEM keystore reads). */
  keyFile: string
  /** A client certificate from the same CA, for mTLS tests. */
  clientCertFile: string
  clientKeyFile: string
}

/**
 * A throwaway CA with a broker and a client certificate, made with openssl: an issuer independent of the
 * product's own certificate tooling, so a TLS test cannot pass because both sides share a bug.
 * P-256 keys: generated in milliseconds, accepted by Kafka's PEM keystore, librdkafka and Node.
 */
export async function generateTestTls(
  dir: string,
  hosts: readonly string[] = ['127.0.0.2', '127.0.0.1', 'localhost'],
): Promise<TestTlsMaterial> {
  await mkdir(dir, { recursive: true })
  const file = (name: string): string => join(dir, name)
  const material: TestTlsMaterial = {
    dir,
    caFile: file('ca.pem'),
    caKeyFile: file('ca.key'),
    certFile: file('broker.pem'),
    keyFile: file('broker.key'),
    clientCertFile: file('client.pem'),
    clientKeyFile: file('client.key'),
  }
  const newKey = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes']
  await openssl('CA certificate', [
    'req',
    '-x509',
    '-new',
    ...newKey,
    '-keyout',
    material.caKeyFile,
    '-out',
    material.caFile,
    '-days',
    '7',
    '-subj',
    '/CN=kafka-sidecar test CA',
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  ])
  const subjectAltName = hosts.map((host) => (isIP(host) ? `IP:${host}` : `DNS:${host}`)).join(',')
  await issue(material, 'broker', '/CN=kafka-sidecar test broker', material.certFile, material.keyFile, [
    `subjectAltName=${subjectAltName}`,
    'extendedKeyUsage=serverAuth,clientAuth',
  ])
  await issue(material, 'client', '/CN=kafka-sidecar-test-client', material.clientCertFile, material.clientKeyFile, [
    'extendedKeyUsage=clientAuth',
  ])
  return material
}

async function issue(
  material: TestTlsMaterial,
  name: string,
  subject: string,
  certFile: string,
  keyFile: string,
  extensions: readonly string[],
): Promise<void> {
  const csr = join(material.dir, `${name}.csr`)
  const extFile = join(material.dir, `${name}.ext`)
  await writeFile(extFile, `${extensions.join('\n')}\n`)
  await openssl(`${name} key`, [
    'req',
    '-new',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-nodes',
    '-keyout',
    keyFile,
    '-out',
    csr,
    '-subj',
    subject,
  ])
  await openssl(`${name} certificate`, [
    'x509',
    '-req',
    '-in',
    csr,
    '-CA',
    material.caFile,
    '-CAkey',
    material.caKeyFile,
    '-CAcreateserial',
    '-out',
    certFile,
    '-days',
    '7',
    '-extfile',
    extFile,
  ])
}

async function openssl(step: string, args: readonly string[]): Promise<void> {
  let result: Awaited<ReturnType<typeof runCommand>>
  try {
    result = await runCommand('openssl', args)
  } catch (err) {
    throw new TlsMaterialError(step, (err as Error).message)
  }
  if (result.code !== 0) throw new TlsMaterialError(step, lastLines(result.stderr, 10))
}
