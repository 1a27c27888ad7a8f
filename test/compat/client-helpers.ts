/**
 * Shared helpers for the real-client compatibility tests (zkCli.sh, cli_mt, node-zookeeper-client,
 * kazoo guide scripts). Each test file runs the same checks against zkts and Apache ZooKeeper.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { DIST, ZOOKEEPER, type Dependency } from '../support/requirements.js';

export type ServerKind = 'zkts' | 'zookeeper';
export const SERVER_KINDS: readonly ServerKind[] = ['zkts', 'zookeeper'];

/** What starting the given server needs (see requirements.ts). */
export function serverDependency(kind: ServerKind): Dependency {
  return kind === 'zkts' ? DIST : ZOOKEEPER;
}

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Runs a command to completion (killing it after timeoutMs), optionally feeding stdin. */
export function runProcess(
  cmd: string,
  args: string[],
  opts: { timeoutMs?: number; input?: string; env?: NodeJS.ProcessEnv; cwd?: string } = {},
): Promise<RunResult> {
  const start = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'], env: opts.env ?? process.env, cwd: opts.cwd });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 30_000);
    child.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, ms: Date.now() - start });
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(opts.input ?? '');
  });
}

/** The `digest` scheme id for user:password, as DigestAuthenticationProvider.generateDigest computes it. */
export function digestId(user: string, password: string): string {
  return `${user}:${createHash('sha1').update(`${user}:${password}`).digest('base64')}`;
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

