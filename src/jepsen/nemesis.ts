/**
 * Faults on a seeded schedule. After a quiet time the nemesis takes the next fault (the kinds asked
 * for, each once per round in a shuffled order), applies it, holds it, then heals it; the choices (kind, victim, split, duration) come from
 * the seeded PRNG, so a seed repeats the schedule's decisions; which server leads at that moment is
 * the ensemble's. Every action goes into the history with process NEMESIS and into nemesis.log.
 */
import { appendFileSync, writeFileSync } from 'node:fs';
import type { Cluster } from './cluster.js';
import type { Recorder } from './recorder.js';
import type { Rng } from './rng.js';
import { sleep } from './workloads/workload.js';

export const NEMESES = ['kill', 'kill-leader', 'pause', 'partition-one', 'partition-leader', 'partition-follower', 'partition-majority', 'bridge', 'clients', 'fsync'] as const;
export type NemesisKind = (typeof NEMESES)[number];

export interface NemesisOptions {
  kinds: NemesisKind[];
  /** Quiet time between faults and how long a fault lasts, in ms (each drawn in [min, max]). */
  quietMs: [number, number];
  faultMs: [number, number];
  /** A pause must outlast the session timeout, so sessions of the paused server expire. */
  sessionTimeoutMs: number;
  logFile: string;
}

export class Nemesis {
  /** Undoes the current fault. */
  private heal: (() => Promise<void>) | undefined;
  readonly counts = new Map<string, number>();
  private round: NemesisKind[] = [];

  constructor(private readonly cluster: Cluster, private readonly rec: Recorder, private readonly rng: Rng, private readonly opts: NemesisOptions) {
    writeFileSync(opts.logFile, '');
  }

  private log(f: string, value: Record<string, unknown>): void {
    this.rec.nemesis(f, value);
    appendFileSync(this.opts.logFile, `${new Date().toISOString()} +${(this.rec.now() / 1e9).toFixed(3)}s ${f} ${JSON.stringify(value)}\n`);
  }

  private draw([min, max]: [number, number]): number {
    return min + this.rng.int(max - min + 1);
  }

  /** Runs the schedule until `running()` turns false, then heals whatever is still broken. */
  async run(running: () => boolean): Promise<void> {
    const until = async (ms: number) => {
      const end = Date.now() + ms;
      while (running() && Date.now() < end) await sleep(Math.min(100, end - Date.now()));
    };
    while (running()) {
      await until(this.draw(this.opts.quietMs));
      if (!running()) break;
      // Every kind asked for comes once per round, in a seeded order: short runs cover them all.
      if (this.round.length === 0) this.round = this.rng.shuffle(this.opts.kinds);
      const kind = this.round.shift()!;
      const hold = kind === 'pause' ? this.opts.sessionTimeoutMs + this.draw(this.opts.faultMs) : this.draw(this.opts.faultMs);
      this.heal = await this.apply(kind);
      this.counts.set(kind, (this.counts.get(kind) ?? 0) + 1);
      await until(hold);
      await this.healNow();
    }
    await this.healNow();
  }

  private async healNow(): Promise<void> {
    const heal = this.heal;
    this.heal = undefined;
    if (heal) await heal();
  }

  /** Applies one fault and returns its healing. */
  async apply(kind: NemesisKind): Promise<() => Promise<void>> {
    const c = this.cluster;
    const sids = c.sids;
    const up = sids.filter((s) => c.running(s));
    switch (kind) {
      case 'kill':
      case 'kill-leader': {
        const random = this.rng.pick(up.length > 0 ? up : sids);
        const victim = kind === 'kill' ? random : ((await c.leader()) ?? random);
        this.log('kill', { sid: victim, leader: kind === 'kill-leader', signal: 'SIGKILL' });
        await c.kill(victim);
        return async () => {
          this.log('restart', { sid: victim });
          c.start(victim);
        };
      }
      case 'pause': {
        const random = this.rng.pick(up.length > 0 ? up : sids);
        const victim = this.rng.next() < 0.5 ? random : ((await c.leader()) ?? random);
        this.log('pause', { sid: victim, signal: 'SIGSTOP' });
        c.pause(victim);
        return async () => {
          this.log('resume', { sid: victim, signal: 'SIGCONT' });
          c.resume(victim);
        };
      }
      case 'partition-one':
      case 'partition-leader':
      case 'partition-follower': {
        const leader = kind === 'partition-one' ? null : await c.leader();
        const followers = sids.filter((s) => s !== leader);
        const random = this.rng.pick(kind === 'partition-follower' ? followers : sids);
        const how = this.cutKind();
        const victim = kind === 'partition-leader' ? (leader ?? random) : random;
        const others = sids.filter((s) => s !== victim);
        this.log('partition', { isolate: victim, role: kind === 'partition-one' ? 'any' : victim === leader ? 'leader' : 'follower', how, sides: [[victim], others] });
        for (const o of others) {
          if (how === 'drop-to-victim') c.cutPeers(o, victim, 'drop-from-a');
          else if (how === 'drop-from-victim') c.cutPeers(victim, o, 'drop-from-a');
          else c.cutPeers(victim, o, how);
        }
        return async () => this.healLinks();
      }
      case 'partition-majority': {
        const order = this.rng.shuffle(sids);
        const minority = order.slice(0, Math.floor(sids.length / 2));
        const majority = order.slice(minority.length);
        const how = this.rng.next() < 0.5 ? 'drop' : 'reject';
        this.log('partition', { sides: [minority, majority], how });
        for (const a of minority) for (const b of majority) c.cutPeers(a, b, how);
        return async () => this.healLinks();
      }
      case 'bridge': {
        const [bridge, ...rest] = this.rng.shuffle(sids) as [number, ...number[]];
        const left = rest.slice(0, Math.ceil(rest.length / 2));
        const right = rest.slice(left.length);
        const how = this.rng.next() < 0.5 ? 'drop' : 'reject';
        this.log('partition', { bridge, sides: [left, right], how });
        for (const a of left) for (const b of right) c.cutPeers(a, b, how);
        return async () => this.healLinks();
      }
      case 'clients': {
        const cut = this.rng.shuffle(sids).slice(0, 1 + this.rng.int(sids.length - 1));
        this.log('cut-clients', { sids: cut });
        for (const s of cut) c.cutClients(s);
        return async () => this.healLinks();
      }
      case 'fsync': {
        const zkts = sids.filter((s) => c.node(s).kind === 'zkts');
        if (zkts.length === 0) {
          this.log('fsync-skipped', { reason: 'no zkts server (the fault is injected into zkts processes only)' });
          return async () => {};
        }
        const victim = this.rng.pick(zkts);
        const mode = this.rng.next() < 0.5 ? `slow ${500 + this.rng.int(1500)}` : 'fail';
        this.log('fsync-fault', { sid: victim, mode });
        c.setFsyncFault(victim, mode);
        return async () => {
          c.setFsyncFault(victim, '');
          const restart = !c.running(victim);
          this.log('fsync-heal', { sid: victim, restart });
          if (restart) c.start(victim);
        };
      }
    }
  }

  /**
   * How an isolation cuts: silently (packets dropped both ways, as in most real partitions: TCP
   * stalls and only timeouts notice), by rejecting (peers notice at once), or in one direction only.
   */
  private cutKind(): 'drop' | 'reject' | 'drop-to-victim' | 'drop-from-victim' {
    const r = this.rng.next();
    return r < 0.5 ? 'drop' : r < 0.7 ? 'reject' : r < 0.85 ? 'drop-to-victim' : 'drop-from-victim';
  }

  private async healLinks(): Promise<void> {
    this.log('heal', {});
    this.cluster.healAll();
  }

  /** At the end: every link whole, nothing paused, no fsync fault, every server running. */
  async healEverything(): Promise<void> {
    await this.healNow();
    const c = this.cluster;
    c.healAll();
    for (const sid of c.sids) {
      c.resume(sid);
      if (c.node(sid).kind === 'zkts') c.setFsyncFault(sid, '');
      if (!c.running(sid)) {
        this.log('restart', { sid, final: true });
        c.start(sid);
      }
    }
  }
}
