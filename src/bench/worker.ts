/**
 * Runners on worker threads (--threads N): the main thread calls a Runner's methods through
 * messages. RunnerHandle is the one interface the workloads see, whether the Runner lives on this
 * thread or on a worker.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { Runner, type ConnectResult, type LoadParams, type LoadResult, type RunnerSpec } from './runner.js';

export interface RunnerHandle {
  readonly sessions: number;
  connect(): Promise<ConnectResult>;
  load(p: LoadParams): Promise<LoadResult>;
  arm(): Promise<Record<string, number>>;
  events(expected: number, timeoutMs: number): Promise<Float64Array>;
  close(): Promise<Record<string, number>>;
  /** Ends the thread (after close()). */
  dispose(): Promise<void>;
}

type Method = 'connect' | 'load' | 'arm' | 'events' | 'close';

class LocalHandle implements RunnerHandle {
  private readonly runner: Runner;
  constructor(spec: RunnerSpec) {
    this.runner = new Runner(spec);
  }
  get sessions(): number {
    return this.runner.spec.sessions.length;
  }
  connect() {
    return this.runner.connect();
  }
  load(p: LoadParams) {
    return this.runner.load(p);
  }
  arm() {
    return this.runner.arm();
  }
  events(expected: number, timeoutMs: number) {
    return this.runner.events(expected, timeoutMs);
  }
  close() {
    return this.runner.close();
  }
  async dispose(): Promise<void> {
    this.runner.disconnect();
  }
}

/** The compiled worker script: this file in dist (tests running the TypeScript sources use dist too). */
function workerScript(): string {
  const here = fileURLToPath(import.meta.url);
  const js = here.replace(/\.ts$/, '.js');
  if (here.endsWith('.js') && existsSync(js)) return js;
  const dist = here.replace(/\/src\/bench\/worker\.ts$/, '/dist/src/bench/worker.js');
  if (existsSync(dist)) return dist;
  throw new Error(`no compiled worker at ${dist}: run npm run build`);
}

class WorkerHandle implements RunnerHandle {
  private readonly worker: Worker;
  private nextId = 1;
  private readonly calls = new Map<number, { resolve: (v: any) => void; reject: (e: Error) => void }>();
  private failed: Error | undefined;

  constructor(private readonly spec: RunnerSpec) {
    this.worker = new Worker(workerScript(), { workerData: spec });
    this.worker.on('message', (m: { id: number; ok: boolean; value?: unknown; error?: string }) => {
      const c = this.calls.get(m.id);
      if (!c) return;
      this.calls.delete(m.id);
      if (m.ok) c.resolve(m.value);
      else c.reject(new Error(m.error));
    });
    const fail = (e: Error) => {
      this.failed = e;
      for (const c of this.calls.values()) c.reject(e);
      this.calls.clear();
    };
    this.worker.on('error', fail);
    this.worker.on('exit', (code) => fail(new Error(`bench worker exited with ${code}`)));
  }

  get sessions(): number {
    return this.spec.sessions.length;
  }

  private call<T>(method: Method, args: unknown[] = []): Promise<T> {
    if (this.failed) return Promise.reject(this.failed);
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.calls.set(id, { resolve, reject });
      this.worker.postMessage({ id, method, args });
    });
  }

  connect() {
    return this.call<ConnectResult>('connect');
  }
  load(p: LoadParams) {
    return this.call<LoadResult>('load', [p]);
  }
  arm() {
    return this.call<Record<string, number>>('arm');
  }
  events(expected: number, timeoutMs: number) {
    return this.call<Float64Array>('events', [expected, timeoutMs]);
  }
  close() {
    return this.call<Record<string, number>>('close');
  }
  async dispose(): Promise<void> {
    this.failed = new Error('disposed');
    await this.worker.terminate();
  }
}

/** Splits sessions 0..total-1 over `threads` runners (session i on runner i % threads). */
export function createRunners(base: Omit<RunnerSpec, 'sessions'>, total: number, threads: number): RunnerHandle[] {
  const t = Math.max(1, Math.min(threads, total));
  const specs: RunnerSpec[] = Array.from({ length: t }, () => ({ ...base, sessions: [] as number[], connectConcurrency: Math.max(1, Math.ceil(base.connectConcurrency / t)) }));
  for (let i = 0; i < total; i++) specs[i % t]!.sessions.push(i);
  if (threads <= 1) return specs.map((s) => new LocalHandle(s));
  return specs.map((s) => new WorkerHandle(s));
}

if (!isMainThread && parentPort && (workerData as RunnerSpec | undefined)?.hosts) {
  const runner = new Runner(workerData as RunnerSpec);
  const port = parentPort;
  port.on('message', (m: { id: number; method: Method; args: unknown[] }) => {
    const fn = (runner[m.method] as (...a: unknown[]) => Promise<unknown>).bind(runner);
    fn(...m.args).then(
      (value) => {
        const transfer = value instanceof Float64Array ? [value.buffer] : value && typeof value === 'object' && 'latencies' in value ? [(value as { latencies: Float64Array }).latencies.buffer] : [];
        port.postMessage({ id: m.id, ok: true, value }, transfer as ArrayBuffer[]);
      },
      (e: Error) => port.postMessage({ id: m.id, ok: false, error: e.message }),
    );
  });
}
