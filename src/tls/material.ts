import { createPrivateKey, type KeyObject, X509Certificate } from 'node:crypto'
import { readFileSync } from 'node:fs'
import tls from 'node:tls'
import type { TlsFileProblem } from './errors.js'

/**
 * Certificate, key and CA files: read, checked (readable, PEM that parses, the key belongs to the certificate, not
 * expired) and turned into secure-context options. The config validator, the listener at start and every rotation
 * use the same checks, so a file that would break TLS is rejected with the same words wherever it shows up.
 */

export const TLS_VERSIONS = ['TLSv1.2', 'TLSv1.3'] as const
export type TlsVersion = (typeof TLS_VERSIONS)[number]

export interface TlsFiles {
  /** PEM certificate, optionally followed by its chain (intermediates). */
  readonly cert?: string
  /** PEM private key of that certificate, unencrypted (PKCS#8 or PKCS#1/SEC1). */
  readonly key?: string
  /** PEM bundle of CA certificates to trust for the peer. */
  readonly ca?: string
}

export interface TlsSettings {
  readonly minVersion?: TlsVersion
  /** OpenSSL cipher list (TLS 1.2) and/or TLS 1.3 suite names, colon-separated. */
  readonly ciphers?: string
}

/** What logs and `validate-config` show about a certificate. */
export interface CertificateSummary {
  /** `CN=sidecar, O=example` */
  readonly subject: string
  readonly issuer: string
  readonly validFrom: string
  readonly validTo: string
  readonly fingerprint256: string
  readonly subjectAltName: string | undefined
}

export interface TlsMaterial {
  readonly files: TlsFiles
  readonly cert: Buffer | undefined
  readonly key: Buffer | undefined
  readonly ca: Buffer | undefined
  /** The certificate this side presents (first of `cert`). */
  readonly leaf: CertificateSummary | undefined
  readonly caCertificates: number
  /** For tls.createSecureContext and tls.Server#setSecureContext. */
  readonly contextOptions: tls.SecureContextOptions
}

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g

/** The PEM certificate blocks of a file, in order. */
export function pemCertificates(text: string): string[] {
  return text.match(PEM_CERTIFICATE) ?? []
}

/** `CN=alice\nO=example` (X509Certificate#subject) as one line. */
export function oneLineName(name: string): string {
  return name.split('\n').filter(Boolean).join(', ')
}

export function summarizeCertificate(x509: X509Certificate): CertificateSummary {
  return {
    subject: oneLineName(x509.subject),
    issuer: oneLineName(x509.issuer),
    validFrom: x509.validFrom,
    validTo: x509.validTo,
    fingerprint256: x509.fingerprint256,
    subjectAltName: x509.subjectAltName,
  }
}

/**
 * Reads and checks the files. Never throws: problems come back, one per file at most, naming the file and what to
 * do. `now` decides expiry (tests pass a fixed time).
 */
export function readTlsMaterial(
  files: TlsFiles,
  settings: TlsSettings = {},
  now: number = Date.now(),
): { material?: TlsMaterial; problems: TlsFileProblem[] } {
  const problems: TlsFileProblem[] = []
  const read = (k: 'cert' | 'key' | 'ca'): Buffer | undefined => {
    const path = files[k]
    if (path === undefined) return undefined
    try {
      return readFileSync(path)
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message
      problems.push({
        key: k,
        message: `cannot read ${JSON.stringify(path)} (${code}): check the path and its permissions`,
      })
      return undefined
    }
  }
  const cert = read('cert')
  const key = read('key')
  const ca = read('ca')

  let leaf: X509Certificate | undefined
  if (cert !== undefined) {
    const parsed = parseCertificates(cert, files.cert!, 'cert', problems)
    leaf = parsed[0]
    if (leaf !== undefined && Date.parse(leaf.validTo) < now) {
      problems.push({
        key: 'cert',
        message: `the certificate in ${JSON.stringify(files.cert)} (${oneLineName(leaf.subject)}) expired on ${leaf.validTo}: renew it`,
      })
    }
  }
  let privateKey: KeyObject | undefined
  if (key !== undefined) {
    try {
      privateKey = createPrivateKey(key)
    } catch (err) {
      const text = key.toString('latin1')
      problems.push({
        key: 'key',
        message: /ENCRYPTED/.test(text)
          ? `${JSON.stringify(files.key)} is an encrypted private key: give an unencrypted PEM key (e.g. openssl pkey -in KEY -out plain.key)`
          : /-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(text)
            ? `${JSON.stringify(files.key)} does not parse as a private key (${(err as Error).message})`
            : `${JSON.stringify(files.key)} holds no PEM private key (expected -----BEGIN PRIVATE KEY-----)`,
      })
    }
  }
  if (leaf !== undefined && privateKey !== undefined && !leaf.checkPrivateKey(privateKey)) {
    problems.push({
      key: 'key',
      message: `${JSON.stringify(files.key)} is not the private key of the certificate in ${JSON.stringify(files.cert)} (${oneLineName(leaf.subject)}): give the key it was issued for`,
    })
  }
  const caCertificates = ca === undefined ? 0 : parseCertificates(ca, files.ca!, 'ca', problems).length
  if (problems.length > 0) return { problems }

  const contextOptions: tls.SecureContextOptions = {
    ...(cert !== undefined && { cert }),
    ...(key !== undefined && { key }),
    ...(ca !== undefined && { ca }),
    ...(settings.minVersion !== undefined && { minVersion: settings.minVersion }),
    ...(settings.ciphers !== undefined && { ciphers: settings.ciphers }),
  }
  try {
    // What is left for OpenSSL to refuse: the cipher list, mostly ("No cipher match").
    tls.createSecureContext(contextOptions)
  } catch (err) {
    const message = (err as Error).message
    problems.push(
      /cipher/i.test(message) && settings.ciphers !== undefined
        ? {
            key: 'ciphers',
            message: `${JSON.stringify(settings.ciphers)} is not a usable cipher list (${message}); see openssl ciphers -v`,
          }
        : { key: 'cert', message: `OpenSSL refuses the certificate or key: ${message}` },
    )
    return { problems }
  }
  return {
    material: {
      files,
      cert,
      key,
      ca,
      leaf: leaf === undefined ? undefined : summarizeCertificate(leaf),
      caCertificates,
      contextOptions,
    },
    problems,
  }
}

function parseCertificates(
  data: Buffer,
  path: string,
  k: 'cert' | 'ca',
  problems: TlsFileProblem[],
): X509Certificate[] {
  const blocks = pemCertificates(data.toString('latin1'))
  if (blocks.length === 0) {
    problems.push({
      key: k,
      message: `${JSON.stringify(path)} holds no PEM certificate (expected -----BEGIN CERTIFICATE-----; convert DER with openssl x509 -inform der)`,
    })
    return []
  }
  const out: X509Certificate[] = []
  for (const [i, block] of blocks.entries()) {
    try {
      out.push(new X509Certificate(block))
    } catch (err) {
      problems.push({
        key: k,
        message: `certificate ${i + 1} in ${JSON.stringify(path)} does not parse (${(err as Error).message})`,
      })
      return []
    }
  }
  return out
}

/** True when both reads of the same files have the same bytes (a rotation that changed nothing). */
export function sameBytes(a: Buffer | undefined, b: Buffer | undefined): boolean {
  return a === undefined || b === undefined ? a === b : a.equals(b)
}
