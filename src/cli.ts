#!/usr/bin/env node
import { readFileSync } from 'node:fs'
import yargs from 'yargs'
import { hideBin } from 'yargs/helpers'
import { certsCommand } from './commands/certs.js'
import type { CliCommand } from './commands/command.js'
import { decodeCommand } from './commands/decode.js'
import { devCommand } from './commands/dev.js'
import { runCommand } from './commands/run.js'
import { topCommand } from './commands/top.js'
import { validateConfigCommand } from './commands/validate-config.js'

/**
 * The `kafka-sidecar` command. Each command is a module under src/commands/ exporting a CliCommand; adding one
 * means adding it to COMMANDS. Unknown commands and flags are errors (exit 2) rather than being ignored.
 */
const COMMANDS: readonly CliCommand[] = [
  runCommand,
  devCommand,
  topCommand,
  decodeCommand,
  validateConfigCommand,
  certsCommand,
]

const USAGE_EXIT = 2

function packageVersion(): string {
  try {
    const url = new URL('../../package.json', import.meta.url) // dist/src/cli.js -> package.json
    return (JSON.parse(readFileSync(url, 'utf8')) as { version: string }).version
  } catch {
    return 'unknown'
  }
}

function buildCli(argv: readonly string[]) {
  let cli = yargs(argv as string[])
    .scriptName('kafka-sidecar')
    .usage('$0 <command> [options]\n\nKafka-protocol-aware sidecar proxy and its tools.')
  for (const command of COMMANDS) cli = cli.command(command)
  return cli
    .demandCommand(1, 'Name a command (see the list above).')
    .recommendCommands()
    .strict()
    .help()
    .alias('help', 'h')
    .version(packageVersion())
    .example('$0 dev', 'try it: an embedded local Kafka with the sidecar in front, clients on 127.0.0.1:9092')
    .example('$0 run --upstream broker-1:9092', 'the sidecar in front of a cluster')
    .example('$0 top', 'live per-client statistics of a running sidecar')
    .example('$0 decode --request --hex 0003000c0000000700036170700000010000', 'decode a captured Metadata request')
    .example('$0 validate-config /etc/kafka-sidecar/config.yaml', 'check a configuration before deploying it')
    .example(
      '$0 certs init --client orders:spiffe://example.org/ns/shop/sa/orders',
      'development certificates for mTLS',
    )
    .epilogue(
      'Configuration: YAML file (--config or KAFKA_SIDECAR_CONFIG), overridden by KAFKA_SIDECAR_* variables and flags.',
    )
    .wrap(Math.min(120, process.stdout.columns ?? 100))
    .fail((msg, err) => {
      if (err !== undefined && err !== null) throw err // a bug in a handler, not a usage problem
      process.stderr.write(`error KSC_ERR_CLI_USAGE: ${msg}\nRun kafka-sidecar --help for usage.\n`)
      process.exit(USAGE_EXIT)
    })
}

await buildCli(hideBin(process.argv)).parseAsync()
