/** A server's CPU time and resident memory from /proc/<pid> (Linux), sampled during a run. */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

let clockTicks: number | undefined;
function ticksPerSecond(): number {
  if (clockTicks === undefined) {
    try {
      clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

/** User + system CPU seconds of a process so far, or undefined when it is gone. */
export function cpuSeconds(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces; the fields after its closing parenthesis are fixed.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond();
  } catch {
    return undefined;
  }
}

/** Resident set size in bytes, or undefined when the process is gone. */
export function rssBytes(pid: number): number | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const m = /^VmRSS:\s+(\d+) kB/m.exec(status);
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

export interface ServerUsage {
  pid: number;
  /** CPU used during the window, in % of one core (200 = two cores busy). */
  cpuPct: number;
  /** RSS at the start and the end of the window, and the highest sampled in between (MB). */
  rssStartMB: number;
  rssEndMB: number;
  rssPeakMB: number;
}

const MB = 1024 * 1024;

/** Samples one process from start() to stop(): CPU over the window, RSS every 250 ms. */
export class ProcSampler {
  private cpu0 = 0;
  private t0 = 0;
  private rss0 = 0;
  private peak = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(readonly pid: number) {
    // The tick rate comes from a child process (getconf) the first time: ask now, before the
    // window, or that synchronous spawn stalls the load's own event loop at the window's start and
    // shows as a latency spike of 10-20 ms in whichever run happens to be first.
    ticksPerSecond();
  }

  start(): void {
    this.cpu0 = cpuSeconds(this.pid) ?? 0;
    this.t0 = performance.now();
    this.rss0 = rssBytes(this.pid) ?? 0;
    this.peak = this.rss0;
    this.timer = setInterval(() => {
      const r = rssBytes(this.pid) ?? 0;
      if (r > this.peak) this.peak = r;
    }, 250);
    this.timer.unref();
  }

  stop(): ServerUsage {
    if (this.timer) clearInterval(this.timer);
    const seconds = (performance.now() - this.t0) / 1000;
    const cpu = (cpuSeconds(this.pid) ?? this.cpu0) - this.cpu0;
    const rss = rssBytes(this.pid) ?? 0;
    if (rss > this.peak) this.peak = rss;
    return {
      pid: this.pid,
      cpuPct: seconds > 0 ? (100 * cpu) / seconds : 0,
      rssStartMB: this.rss0 / MB,
      rssEndMB: rss / MB,
      rssPeakMB: this.peak / MB,
    };
  }
}

/** Several processes (an ensemble's servers) sampled together: CPU and RSS summed over them. */
export class ProcGroupSampler {
  private readonly parts: ProcSampler[];

  constructor(pids: number[]) {
    this.parts = pids.map((pid) => new ProcSampler(pid));
  }

  start(): void {
    for (const p of this.parts) p.start();
  }

  stop(): ServerUsage {
    const usages = this.parts.map((p) => p.stop());
    const sum = (f: (u: ServerUsage) => number) => usages.reduce((a, u) => a + f(u), 0);
    return {
      pid: usages[0]?.pid ?? 0,
      cpuPct: sum((u) => u.cpuPct),
      rssStartMB: sum((u) => u.rssStartMB),
      rssEndMB: sum((u) => u.rssEndMB),
      // The sum of each one's peak: an upper bound of the group's peak.
      rssPeakMB: sum((u) => u.rssPeakMB),
    };
  }
}

/** CPU of this process (all its threads, workers included) between two calls, in % of one core. */
export class OwnCpu {
  private u0 = process.cpuUsage();
  private t0 = performance.now();

  reset(): void {
    this.u0 = process.cpuUsage();
    this.t0 = performance.now();
  }

  pct(): number {
    const u = process.cpuUsage(this.u0);
    const ms = performance.now() - this.t0;
    return ms > 0 ? ((u.user + u.system) / 1000 / ms) * 100 : 0;
  }
}

/** The machine's CPU time counters (/proc/stat's first line, in ticks), or undefined off Linux. */
function hostTicks(): { total: number; steal: number; iowait: number } | undefined {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!;
    // cpu user nice system idle iowait irq softirq steal [guest guest_nice]: guest time is in user already.
    const f = line.trim().split(/\s+/).slice(1, 9).map(Number);
    if (f.length < 8 || f.some((x) => !Number.isFinite(x))) return undefined;
    return { total: f.reduce((a, b) => a + b, 0), steal: f[7]!, iowait: f[4]! };
  } catch {
    return undefined;
  }
}

/**
 * What the machine's other tenants took between two calls: CPU steal (time the hypervisor gave this
 * VM's CPUs to others) and iowait, each in % of all CPU time. On a shared VM a run's tail latency
 * moves with these far more than with any change to a server; a run is read beside them.
 */
export class HostCpu {
  private t0 = hostTicks();

  reset(): void {
    this.t0 = hostTicks();
  }

  /** Undefined when /proc/stat cannot be read, or no tick passed. */
  pct(): { stealPct: number; iowaitPct: number } | undefined {
    const t = hostTicks();
    if (!t || !this.t0) return undefined;
    const total = t.total - this.t0.total;
    if (total <= 0) return undefined;
    return { stealPct: (100 * (t.steal - this.t0.steal)) / total, iowaitPct: (100 * (t.iowait - this.t0.iowait)) / total };
  }
}
