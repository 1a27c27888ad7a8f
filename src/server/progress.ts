/**
 * Progress of a long recovery (a large snapshot, a long log), so that an operator watching a
 * server start knows it is working and how far it is: a line redrawn in place when stderr is a
 * terminal, else a log line every few seconds (none at all for a recovery quicker than that).
 */
import type { RecoveryProgress } from '../zab/index.js';

export interface ProgressOptions {
  log: { info(obj: object, msg: string): void; isLevelEnabled?(level: string): boolean };
  /** Where the live line is drawn when it is a terminal (default process.stderr). */
  terminal?: { isTTY?: boolean; write(s: string): unknown };
  /** Between log lines when not on a terminal (default 5000 ms). */
  logIntervalMs?: number;
  now?: () => number;
}

/** Between redraws of the live line. */
const REDRAW_MS = 200;
const MiB = 1024 * 1024;

export function recoveryProgress(opts: ProgressOptions): RecoveryProgress {
  const now = opts.now ?? (() => performance.now());
  const terminal = opts.terminal ?? process.stderr;
  // A silenced logger (an embedded server's default) means no output of any kind.
  const enabled = opts.log.isLevelEnabled?.('info') ?? true;
  const live = enabled && terminal.isTTY === true;
  const interval = opts.logIntervalMs ?? 5000;
  const start = now();
  let last = live ? start - REDRAW_MS : start;
  let drawn = false;

  const report = (fields: Record<string, unknown>, text: string): void => {
    if (!enabled) return;
    const t = now();
    if (t - last < (live ? REDRAW_MS : interval)) return;
    last = t;
    if (live) {
      terminal.write(`\r\x1b[2K${text}`);
      drawn = true;
    } else {
      opts.log.info({ ...fields, ms: Math.round(t - start) }, text);
    }
  };

  return {
    snapshot(file, bytesRead, totalBytes) {
      const percent = Math.floor((bytesRead / totalBytes) * 100);
      report(
        { phase: 'snapshot', file, bytesRead, totalBytes, percent },
        `loading snapshot ${basename(file)}: ${percent}% (${(bytesRead / MiB).toFixed(0)} of ${(totalBytes / MiB).toFixed(0)} MiB)`,
      );
    },
    replay(file, index, files, replayed) {
      report({ phase: 'replay', file, log: index, logs: files, replayed }, `replaying log ${basename(file)} (${index} of ${files}): ${replayed.toLocaleString('en-US')} txns applied`);
    },
    done() {
      if (drawn) terminal.write('\r\x1b[2K');
    },
  };
}

function basename(path: string): string {
  return path.substring(path.lastIndexOf('/') + 1);
}
