// The flag handling every long-running mode (serve, controller, node) starts with: strict
// parsing, --help printing the mode's usage, and --log-level applied before anything logs.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { setLogLevel } from '../pkg/log/logger';

const COMMON_FLAGS = {
  'log-level': { type: 'string' },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

type Options = NonNullable<ParseArgsConfig['options']>;
type Config<O extends Options> = { args: string[]; options: O & typeof COMMON_FLAGS; strict: true; allowPositionals: false };
type Values<O extends Options> = ReturnType<typeof parseArgs<Config<O>>>['values'];

/** The parsed flags, or undefined when --help was given (the usage is printed then). */
export function parseModeFlags<const O extends Options>(argv: string[], options: O, usage: string): Values<O> | undefined {
  const config: Config<O> = { args: argv, options: { ...options, ...COMMON_FLAGS }, strict: true, allowPositionals: false };
  const { values } = parseArgs(config);
  const common = values as { help?: boolean; 'log-level'?: string };
  if (common.help) {
    process.stdout.write(`${usage}\n`);
    return undefined;
  }
  if (common['log-level'] !== undefined) setLogLevel(parseLogLevel(common['log-level']));
  return values;
}

const LOG_LEVELS = ['error', 'warn', 'info', 'debug'] as const;

export function parseLogLevel(value: string): (typeof LOG_LEVELS)[number] {
  const level = LOG_LEVELS.find((l) => l === value.toLowerCase());
  if (!level) throw new Error(`--log-level must be one of ${LOG_LEVELS.join(', ')}; got ${JSON.stringify(value)}`);
  return level;
}
