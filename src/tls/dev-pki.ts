import { randomBytes } from 'node:crypto'
import { createRequire } from 'node:module'
import { isIP } from 'node:net'
import type forge from 'node-forge'
import { SidecarError } from '../errors.js'

/**
 * node-forge is loaded on first use: only `certs init` and the tests issue certificates, and loading it up front
 * would cost every running sidecar several megabytes of heap.
 */
const load = createRequire(import.meta.url)
let forgeModule: typeof forge | undefined
function nodeForge(): typeof forge {
  forgeModule ??= load('node-forge') as typeof forge
  return forgeModule
}

/**
 * A development PKI made with node-forge, for `kafka-sidecar certs init`, the demo and the tests: a CA, a server
 * certificate for the sidecar and client certificates with a CN and optionally a SPIFFE ID. Not for production:
 * the CA key sits in a file next to the certificates.
 *
 * RSA 2048 keys (node-forge signs X.509 only with RSA; it uses Node's native key generation when it can), SHA-256
 * signatures, keys written as unencrypted PKCS#8, which is what Kafka's PEM keystore reads (KIP-651). Leaf profile:
 * basicConstraints CA:FALSE, keyUsage digitalSignature + keyEncipherment, extendedKeyUsage serverAuth or clientAuth;
 * a client's SPIFFE ID is its only URI SAN, as an X.509-SVID must carry exactly one (SPIFFE X509-SVID spec,
 * sections 2 and 4.3).
 */

export interface ClientSpec {
  /** File name part and subject CN. */
  readonly name: string
  /** spiffe://trust-domain/path, written as the certificate's URI SAN. */
  readonly spiffe?: string
}

export interface IssuedPem {
  readonly cert: string
  /** PKCS#8, unencrypted. */
  readonly key: string
}

export interface DevCa extends IssuedPem {
  readonly subject: string
}

export class CertToolError extends SidecarError {
  constructor(message: string) {
    super('KSC_ERR_CERTS', message)
  }
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/
/** SPIFFE ID: scheme, trust domain of lowercase letters, digits, dots, dashes, underscores, then a path (SPIFFE-ID spec section 2). */
const SPIFFE_ID = /^spiffe:\/\/[a-z0-9._-]+(\/[A-Za-z0-9._~!$&'()*+,;=:@%-]+)+$/

/** `NAME` or `NAME:spiffe://td/path`, as --client takes it. */
export function parseClientSpec(text: string): ClientSpec {
  const colon = text.indexOf(':')
  const name = colon === -1 ? text : text.slice(0, colon)
  const spiffe = colon === -1 ? undefined : text.slice(colon + 1)
  if (!NAME.test(name)) {
    throw new CertToolError(
      `--client ${JSON.stringify(text)}: the name must be letters, digits, '.', '_' or '-' (it becomes the CN and the file name)`,
    )
  }
  if (spiffe !== undefined && !SPIFFE_ID.test(spiffe)) {
    throw new CertToolError(
      `--client ${JSON.stringify(text)}: ${JSON.stringify(spiffe)} is not a SPIFFE ID (expected spiffe://trust-domain/path, e.g. spiffe://example.org/ns/default/sa/${name})`,
    )
  }
  return spiffe === undefined ? { name } : { name, spiffe }
}

function keyPair(bits: number): forge.pki.rsa.KeyPair {
  return nodeForge().pki.rsa.generateKeyPair({ bits, e: 0x10001 })
}

function privateKeyPem(key: forge.pki.rsa.PrivateKey): string {
  return nodeForge().pki.privateKeyInfoToPem(nodeForge().pki.wrapRsaPrivateKey(nodeForge().pki.privateKeyToAsn1(key)))
}

/** A positive serial of 16 random bytes (RFC 5280 section 4.1.2.2: positive, at most 20 octets). */
function serial(): string {
  const bytes = randomBytes(16)
  bytes[0] = bytes[0]! & 0x7f
  return bytes.toString('hex')
}

function validity(cert: forge.pki.Certificate, days: number): void {
  // A few minutes back, for clocks slightly behind ours.
  cert.validity.notBefore = new Date(Date.now() - 5 * 60_000)
  cert.validity.notAfter = new Date(Date.now() + days * 86_400_000)
}

const ORGANIZATION = 'kafka-sidecar development'

export function createCa(options: { days?: number; bits?: number; name?: string } = {}): DevCa {
  const keys = keyPair(options.bits ?? 2048)
  const cert = nodeForge().pki.createCertificate()
  cert.publicKey = keys.publicKey
  cert.serialNumber = serial()
  validity(cert, options.days ?? 3650)
  const subject = [
    { name: 'commonName', value: options.name ?? 'kafka-sidecar development CA' },
    { name: 'organizationName', value: ORGANIZATION },
  ]
  cert.setSubject(subject)
  cert.setIssuer(subject)
  cert.setExtensions([
    { name: 'basicConstraints', cA: true, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ])
  cert.sign(keys.privateKey, nodeForge().md.sha256.create())
  return {
    cert: nodeForge().pki.certificateToPem(cert),
    key: privateKeyPem(keys.privateKey),
    subject: `CN=${subject[0]!.value}`,
  }
}

interface LeafRequest {
  readonly cn: string
  readonly usage: 'serverAuth' | 'clientAuth'
  /** DNS names and IP addresses (server), or the SPIFFE ID (client). */
  readonly hosts?: readonly string[]
  readonly uri?: string
  readonly days: number
  readonly bits: number
}

function issue(ca: IssuedPem, req: LeafRequest): IssuedPem {
  const caCert = nodeForge().pki.certificateFromPem(ca.cert)
  const caKey = nodeForge().pki.privateKeyFromPem(ca.key) as forge.pki.rsa.PrivateKey
  const keys = keyPair(req.bits)
  const cert = nodeForge().pki.createCertificate()
  cert.publicKey = keys.publicKey
  cert.serialNumber = serial()
  validity(cert, req.days)
  cert.setSubject([
    { name: 'commonName', value: req.cn },
    { name: 'organizationName', value: ORGANIZATION },
  ])
  cert.setIssuer(caCert.subject.attributes)
  const altNames: { type: number; value?: string; ip?: string }[] = [
    // GeneralName choices (RFC 5280 section 4.2.1.6): 2 dNSName, 6 uniformResourceIdentifier, 7 iPAddress.
    ...(req.hosts ?? []).map((h) => (isIP(h) ? { type: 7, ip: h } : { type: 2, value: h })),
    ...(req.uri === undefined ? [] : [{ type: 6, value: req.uri }]),
  ]
  cert.setExtensions([
    { name: 'basicConstraints', cA: false, critical: true },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', [req.usage]: true },
    ...(altNames.length > 0 ? [{ name: 'subjectAltName', altNames }] : []),
    { name: 'subjectKeyIdentifier' },
    { name: 'authorityKeyIdentifier', keyIdentifier: caCert.generateSubjectKeyIdentifier().getBytes() },
  ])
  cert.sign(caKey, nodeForge().md.sha256.create())
  return { cert: nodeForge().pki.certificateToPem(cert), key: privateKeyPem(keys.privateKey) }
}

/** The sidecar's server certificate: CN the first host, every host a SAN (IP SAN for addresses). */
export function issueServer(
  ca: IssuedPem,
  hosts: readonly string[],
  options: { days?: number; bits?: number } = {},
): IssuedPem {
  if (hosts.length === 0) throw new CertToolError('the server certificate needs at least one host name or address')
  return issue(ca, {
    cn: hosts[0]!,
    usage: 'serverAuth',
    hosts,
    days: options.days ?? 365,
    bits: options.bits ?? 2048,
  })
}

/** A client certificate: CN the name, URI SAN the SPIFFE ID when given. */
export function issueClient(
  ca: IssuedPem,
  client: ClientSpec,
  options: { days?: number; bits?: number } = {},
): IssuedPem {
  return issue(ca, {
    cn: client.name,
    usage: 'clientAuth',
    ...(client.spiffe !== undefined && { uri: client.spiffe }),
    days: options.days ?? 365,
    bits: options.bits ?? 2048,
  })
}

/** Checks that a CA read back from disk can sign with node-forge (RSA) and is a CA. */
export function loadCa(certPem: string, keyPem: string): DevCa {
  let cert: forge.pki.Certificate
  try {
    cert = nodeForge().pki.certificateFromPem(certPem)
    nodeForge().pki.privateKeyFromPem(keyPem)
  } catch (err) {
    throw new CertToolError(
      `the existing CA cannot be used (${(err as Error).message}); only RSA CAs made by certs init can sign here: use --force to make a new one`,
    )
  }
  const cn = cert.subject.getField('CN')?.value as string | undefined
  return { cert: certPem, key: keyPem, subject: `CN=${cn ?? '?'}` }
}
