/**
 * Runs zkts (the built CLI, dist/bin/zkts.js) on a data dir the test owns: unlike
 * test/support/servers.ts, nothing is deleted when the server stops, a stop can be a crash
 * (SIGKILL), and the same dir can be started again. The server listens on port 0 (the OS picks a
 * free port) and says which in its JSON log; its stdout is parsed into log records. Build first:
 * `npm run build`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ZKTS_BIN } from '../support/servers.js';

export interface LogRecord {
  level: number;
  msg: string;
  [key: string]: unknown;
}

export interface ZktsOptions {
  /** Where zoo.cfg goes (not deleted by anything here). */
  workDir: string;
  dataDir: string;
  dataLogDir?: string;
  tickTime?: number;
  /** Extra zoo.cfg lines. */
  cfg?: string[];
  /** -D properties, e.g. 'zookeeper.extendedTypesEnabled=true'. */
  props?: string[];
  /** Name of the zoo.cfg written in workDir. Default zoo.cfg. */
  cfgName?: string;
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface ZktsProcess {
  port: number;
  process: ChildProcess;
  /** Date.now() when the process was spawned, and when it was seen listening. */
  spawnedAt: number;
  listeningAt: number;
  /** Everything the process wrote (stdout + stderr). */
  output(): string;
  /** Its stdout's JSON log records so far. */
  logs(): LogRecord[];
  /** Resolves when the process has exited. */
  exited: Promise<Exit>;
  /** Sends `signal` (once: a second SIGTERM would end zkts's clean shutdown) without waiting. */
  signal(signal: NodeJS.Signals): void;
  /** Sends `signal` (default SIGKILL: a crash) unless already sent, and waits for the exit. */
  kill(signal?: NodeJS.Signals): Promise<Exit>;
}

function writeCfg(opts: ZktsOptions): string {
  const lines = [
    `tickTime=${opts.tickTime ?? 2000}`,
    `dataDir=${opts.dataDir}`,
    ...(opts.dataLogDir ? [`dataLogDir=${opts.dataLogDir}`] : []),
    'clientPort=0',
    'clientPortAddress=127.0.0.1',
    'maxClientCnxns=0',
    '4lw.commands.whitelist=*',
    'admin.enableServer=false',
    ...(opts.cfg ?? []),
  ];
  const cfg = join(opts.workDir, opts.cfgName ?? 'zoo.cfg');
  writeFileSync(cfg, lines.join('\n') + '\n');
  return cfg;
}

function spawnZkts(opts: ZktsOptions) {
  const cfg = writeCfg(opts);
  const props = (opts.props ?? []).map((p) => `-D${p}`);
  const spawnedAt = Date.now();
  const child = spawn(process.execPath, [ZKTS_BIN, 'start', '--config', cfg, ...props], { cwd: opts.workDir, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  let stdoutRest = '';
  const records: LogRecord[] = [];
  const listeners: ((r: LogRecord) => void)[] = [];
  child.stdout!.on('data', (d: Buffer) => {
    const s = d.toString();
    output += s;
    stdoutRest += s;
    let nl: number;
    while ((nl = stdoutRest.indexOf('\n')) >= 0) {
      const line = stdoutRest.substring(0, nl);
      stdoutRest = stdoutRest.substring(nl + 1);
      try {
        const rec = JSON.parse(line) as LogRecord;
        records.push(rec);
        for (const l of listeners) l(rec);
      } catch {
        // not a log record
      }
    }
  });
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<Exit>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  return { child, spawnedAt, output: () => output, records, listeners, exited };
}

/** Starts zkts and waits until it listens (it has recovered its data by then). */
export async function startZkts(opts: ZktsOptions, timeoutMs = 20_000): Promise<ZktsProcess> {
  const s = spawnZkts(opts);
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => {
      s.child.kill('SIGKILL');
      reject(new Error(`zkts did not listen within ${timeoutMs} ms:\n${s.output()}`));
    }, timeoutMs);
    const check = (r: LogRecord) => {
      if (r.msg === 'zkts listening') {
        clearTimeout(timer);
        resolve(r.port as number);
      }
    };
    s.listeners.push(check);
    void s.exited.then((e) => {
      clearTimeout(timer);
      reject(new Error(`zkts exited (${e.code ?? e.signal}) before listening:\n${s.output()}`));
    });
  });
  const listeningAt = Date.now();
  const sent = new Set<NodeJS.Signals>();
  const signal = (sig: NodeJS.Signals) => {
    if (s.child.exitCode === null && s.child.signalCode === null && !sent.has(sig)) s.child.kill(sig);
    sent.add(sig);
  };
  return {
    port,
    process: s.child,
    spawnedAt: s.spawnedAt,
    listeningAt,
    output: s.output,
    logs: () => s.records,
    exited: s.exited,
    signal,
    async kill(sig: NodeJS.Signals = 'SIGKILL') {
      signal(sig);
      const timer = setTimeout(() => s.child.kill('SIGKILL'), 15_000);
      const e = await s.exited;
      clearTimeout(timer);
      return e;
    },
  };
}

/** Runs zkts expecting it not to come up: resolves with how it exited and what it said. */
export async function startZktsExpectingFailure(opts: ZktsOptions, timeoutMs = 20_000): Promise<Exit & { output: string; logs: LogRecord[]; listened: boolean }> {
  const s = spawnZkts(opts);
  let listened = false;
  s.listeners.push((r) => {
    if (r.msg === 'zkts listening') {
      listened = true;
      s.child.kill('SIGKILL');
    }
  });
  const timer = setTimeout(() => s.child.kill('SIGKILL'), timeoutMs);
  const e = await s.exited;
  clearTimeout(timer);
  return { ...e, output: s.output(), logs: s.records, listened };
}

/** Starts zkts and SIGKILLs it `ms` after the spawn, listening or not (a crash during startup). */
export async function startZktsAndKill(opts: ZktsOptions, ms: number): Promise<{ spawnedAt: number; killedAt: number; listened: boolean; exit: Exit; output: string }> {
  const s = spawnZkts(opts);
  let listened = false;
  s.listeners.push((r) => {
    if (r.msg === 'zkts listening') listened = true;
  });
  await new Promise((r) => setTimeout(r, ms));
  if (s.child.exitCode === null) s.child.kill('SIGKILL');
  const killedAt = Date.now();
  const exit = await s.exited;
  return { spawnedAt: s.spawnedAt, killedAt, listened, exit, output: s.output() };
}

/** Warning (level 40) and error (50+) messages of a log. */
export function warnings(logs: LogRecord[]): string[] {
  return logs.filter((r) => r.level >= 40).map((r) => r.msg);
}
