/** What the running Node line offers, where the sidecar's behaviour depends on it. */

/**
 * Whether this Node has listen({ reusePort }): added in v23.1.0 and backported to v22.12.0 (Node's doc/api/net.md,
 * server.listen(options), "reusePort"; nodejs/node#55408); older lines ignore the option without a word.
 */
export function reusePortSupported(version: string = process.versions.node): boolean {
  const [major = 0, minor = 0] = version.split('.').map(Number)
  return major > 22 || (major === 22 && minor >= 12)
}
