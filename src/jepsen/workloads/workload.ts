/** What every jepsen-lite workload provides to the runner, and what the runner gives it. */
import type { Recorder } from '../recorder.js';
import type { Rng } from '../rng.js';
import type { Address } from '../zk-session.js';

export interface WorkloadContext {
  rec: Recorder;
  rng: Rng;
  /** Client addresses (through the client proxies), one per server. */
  addresses: Address[];
  sessionTimeoutMs: number;
  opTimeoutMs: number;
  /** The run's length: workloads driven by a script get it (the others stop on `running`). */
  timeSec: number;
  /** Concurrent logical clients. */
  clients: number;
  /** Where the workload may write files (the kazoo script's stderr, ...). */
  outDir: string;
  log: (line: string) => void;
}

export interface Workload {
  readonly name: string;
  /** The znode subtree it uses: the final-state comparison reads it on every server. */
  readonly root: string;
  setup(): Promise<void>;
  /** Drives its clients until `running()` turns false, then lets them finish their operation. */
  run(running: () => boolean): Promise<void>;
  /** After the nemesis healed everything: the final reads its checker needs. */
  finish(): Promise<void>;
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
