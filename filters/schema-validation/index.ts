import type { FilterPlugin } from '../../src/pipeline/filter-api.js'
import { parseSchemaValidationConfig, type SchemaValidationConfig } from './config.js'
import { SchemaValidation } from './schema-validation.js'

/**
 * schema-validation: produced records are checked against the schema their topic is meant to carry (JSON Schema with
 * ajv, Avro with avsc, Protobuf with protobufjs; schemas from local files or a Confluent-compatible registry) before
 * they reach the broker. A partition with an invalid record is answered INVALID_RECORD with the record's index and
 * reason (KIP-467 record_errors); the other partitions of the request go on. README "Filters" has the config.
 */
export const schemaValidationPlugin: FilterPlugin<SchemaValidationConfig> = {
  name: 'schema-validation',
  parseConfig: parseSchemaValidationConfig,
  configure: (config, setup, previous) => new SchemaValidation(config, setup, previous),
}

export { SchemaValidationConfigError } from './config.js'
export type { SchemaValidationHealth } from './schema-validation.js'
