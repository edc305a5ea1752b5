#!/usr/bin/env node
import { readFileSync } from 'node:fs'
import yargs from 'yargs'
import { hideBin } from 'yargs/helpers'
import { certsCommand } from './commands/certs.js'
import type { CliCommand } from './commands/command.js'
import { decodeCommand } from './commands/decode.js'
import { devCommand } from './commands/dev.js'
import { healthcheckCommand } from './commands/healthcheck.js'
import { injectWebhookCommand } from './commands/inject-webhook.js'
import { runCommand } from './commands/run.js'
import { topCommand } from './commands/top.js'
import {
  checkOptionValues,
  commandToken,
  type DeclaredOptions,
  describeYargsFailure,
  USAGE_EXIT,
  usageLine,
} from './commands/usage.js'
import { validateConfigCommand } from './commands/validate-config.js'

/**
 * The `kafka-sidecar` command. Each command is a module under src/commands/ exporting a CliCommand; adding one
 * means adding it to COMMANDS. Every command-line mistake (unknown command or flag, a flag without its value, a
 * value that is not one of the choices) is one line naming the problem and the fix, and exit code 2
 * (src/commands/usage.ts); with no command at all, the usage and the command list come first.
 */
const COMMANDS: readonly CliCommand[] = [
  runCommand,
  devCommand,
  topCommand,
  decodeCommand,
  validateConfigCommand,
  certsCommand,
  injectWebhookCommand,
  healthcheckCommand,
]

const COMMAND_NAMES = COMMANDS.map((c) => String(c.command).split(' ')[0]!)

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
    // usage.ts reads yargs' failure messages; in another locale they would be translated.
    .locale('en')
    .scriptName('kafka-sidecar')
    .usage('$0 <command> [options]\n\nKafka-protocol-aware sidecar proxy and its tools.')
  for (const command of COMMANDS) cli = cli.command(command)
  cli = cli
    .demandCommand(1)
    .strict()
    .check((parsed, options) => checkOptionValues(parsed, options as unknown as DeclaredOptions, argv) ?? true)
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
      // yargs' own validation errors (YError) and .check problems (strings) are usage mistakes; anything else is a
      // bug in a handler and keeps its stack.
      if (err !== undefined && err !== null && typeof err !== 'string' && err.name !== 'YError') throw err
      const token = commandToken(argv)
      const command = token !== undefined && COMMAND_NAMES.includes(token) ? token : undefined
      // While a command is parsed, the instance holds that command's options.
      const declared = (cli as unknown as { getOptions(): DeclaredOptions }).getOptions()
      const { problem, showHelp } = describeYargsFailure(msg ?? String(err), {
        args: argv,
        commands: COMMAND_NAMES,
        ...(command === undefined
          ? {}
          : {
              command,
              options: Object.keys(declared.key).filter((k) => k !== 'help' && k !== 'version'),
              choices: Object.fromEntries(Object.entries(declared.choices).map(([k, v]) => [k, v.map(String)])),
            }),
      })
      if (showHelp) cli.showHelp((text) => process.stderr.write(`${text}\n\n`))
      process.stderr.write(usageLine(problem, command))
      process.exit(USAGE_EXIT)
    })
  return cli
}

await buildCli(hideBin(process.argv)).parseAsync()
