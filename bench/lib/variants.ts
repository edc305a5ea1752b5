/**
 * Sidecar variants a benchmark compares, from `--variant=LABEL[:CONFIG.yaml[:NODE ARGS]]` arguments (default: one,
 * "sidecar", as shipped). Every variant also gets the shipped Node flags (bench/lib/targets.ts), before its own.
 * `--variant=LABEL@DIR[:...]` runs the sidecar built in another checkout DIR (DIR/dist/src/cli.js), to compare builds
 * (before and after a change) in one run.
 */
export interface Variant {
  label: string
  configFile: string | undefined
  nodeArgs: string[]
  /** Another build's CLI; undefined: this build's. */
  cli: string | undefined
}

export function variantsFromArgv(argv: readonly string[] = process.argv): Variant[] {
  const given = argv.filter((a) => a.startsWith('--variant=')).map((a) => a.slice('--variant='.length))
  if (given.length === 0) given.push('sidecar')
  return given.map((spec) => {
    const [labelAndBuild, configFile, args] = spec.split(':')
    const [label, build] = (labelAndBuild ?? '').split('@')
    if (!label) throw new Error(`--variant=${spec}: a label is needed, as in --variant=stats-off:FILE.yaml`)
    return {
      label,
      configFile: configFile || undefined,
      nodeArgs: args?.split(' ').filter(Boolean) ?? [],
      cli: build ? `${build.replace(/\/$/, '')}/dist/src/cli.js` : undefined,
    }
  })
}
