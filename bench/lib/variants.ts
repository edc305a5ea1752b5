/**
 * Sidecar variants a benchmark compares, from `--variant=LABEL[:CONFIG.yaml[:NODE ARGS]]` arguments (default: one,
 * "sidecar", as shipped). Every variant also gets the shipped Node flags (bench/lib/targets.ts), before its own.
 */
export interface Variant {
  label: string
  configFile: string | undefined
  nodeArgs: string[]
}

export function variantsFromArgv(argv: readonly string[] = process.argv): Variant[] {
  const given = argv.filter((a) => a.startsWith('--variant=')).map((a) => a.slice('--variant='.length))
  if (given.length === 0) given.push('sidecar')
  return given.map((spec) => {
    const [label, configFile, args] = spec.split(':')
    if (!label) throw new Error(`--variant=${spec}: a label is needed, as in --variant=stats-off:FILE.yaml`)
    return { label, configFile: configFile || undefined, nodeArgs: args?.split(' ').filter(Boolean) ?? [] }
  })
}
