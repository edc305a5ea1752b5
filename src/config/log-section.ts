/** log: the log level, per-frame logging and the line format. */
import type { ValidateOptions } from './schema.js'
import type { Validator } from './validator.js'

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const
export type LogLevel = (typeof LOG_LEVELS)[number]

export const LOG_FORMATS = ['json', 'pretty'] as const
export type LogFormat = (typeof LOG_FORMATS)[number]

export interface LogConfig {
  readonly level: LogLevel
  /** Log every frame (api, version, correlation id, size) at debug; can be switched at runtime. */
  readonly frames: boolean
  /**
   * json: one JSON object per line, for log pipelines (the default). pretty: one readable line per entry (time,
   * level, message, then the fields), for a terminal; `dev` uses it when stdout is one.
   */
  readonly format: LogFormat
}

export const LOG_DEFAULTS = { level: 'info' as LogLevel, frames: false, format: 'json' as LogFormat } as const

export function logSection(v: Validator, value: unknown, options: ValidateOptions): LogConfig {
  const m = v.mapping(value, ['log'], ['level', 'frames', 'format'])
  return {
    level: v.choice(m.level, ['log', 'level'], LOG_DEFAULTS.level, LOG_LEVELS),
    frames: v.bool(m.frames, ['log', 'frames'], LOG_DEFAULTS.frames),
    format: v.choice(m.format, ['log', 'format'], options.defaultLogFormat ?? LOG_DEFAULTS.format, LOG_FORMATS),
  }
}
