import pino, { type Logger } from 'pino';

/**
 * JSON logs for machines; a terse readable line when a person is watching a terminal. The level is
 * the CLI's --log-level, else ZKTS_LOG_LEVEL, else info.
 */
export function createLogger(level = process.env.ZKTS_LOG_LEVEL ?? 'info'): Logger {
  if (process.stdout.isTTY) {
    return pino({ level }, {
      write(line: string) {
        try {
          const { time, level: lvl, msg, pid: _pid, hostname: _h, ...rest } = JSON.parse(line) as Record<string, unknown>;
          const extra = Object.keys(rest).length > 0 ? ' ' + JSON.stringify(rest) : '';
          process.stdout.write(`${new Date(time as number).toISOString()} ${pino.levels.labels[lvl as number] ?? lvl} ${msg}${extra}\n`);
        } catch {
          process.stdout.write(line);
        }
      },
    });
  }
  return pino({ level });
}
