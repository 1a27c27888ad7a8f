/** Parsers of the CLI's option values: a bad value is a clear message naming the option, never NaN. */
import { InvalidArgumentError } from 'commander';

/** An integer option from min to max, both included (commander's argParser). */
export function integerOption(min: number, max?: number): (value: string) => number {
  const range = max === undefined ? `an integer of at least ${min}` : `an integer from ${min} to ${max}`;
  return (value) => {
    const n = /^\d+$/.test(value.trim()) ? Number(value) : NaN;
    if (!(n >= min && n <= (max ?? Number.MAX_SAFE_INTEGER))) throw new InvalidArgumentError(`expected ${range}.`);
    return n;
  };
}

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** --log-level, else ZKTS_LOG_LEVEL, else info; a bad environment value is refused as an option would be. */
export function resolveLogLevel(cli: string | undefined, env = process.env.ZKTS_LOG_LEVEL): string {
  const level = cli ?? env ?? 'info';
  if (!(LOG_LEVELS as readonly string[]).includes(level)) {
    throw new InvalidArgumentError(`ZKTS_LOG_LEVEL '${level}' is not one of ${LOG_LEVELS.join(', ')}.`);
  }
  return level;
}
