/**
 * Runs the FastLeaderElection core over the election port: frames from QuorumCnxManager go in as
 * notifications, the core's notifications go out as frames, and one timer wakes the core at its next
 * deadline. elect() resolves with the decision; the runner keeps answering LOOKING peers afterwards
 * (until stop()), as a ZooKeeper server keeps its election port open while it leads or follows.
 */
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import { decodeNotification, encodeNotification, formatQuorumConfig, PeerState, type QuorumConfig } from '../jute/election.js';
import { FastLeaderElection, type Decision, type Step } from '../zab/election.js';
import { QuorumCnxManager } from './quorum-cnx.js';
import type { QuorumTransport } from './quorum-transport.js';

export interface ElectionRunnerOptions {
  myId: number;
  /** The ensemble as the config string our notifications carry describes it. */
  config: QuorumConfig;
  /** Where to listen; defaults to our own election address in the config. */
  listenHost?: string;
  logger?: Logger;
  /** Called with every notification received (for diagnostics and tests). */
  onNotification?: (fromSid: number, n: ReturnType<typeof decodeNotification>) => void;
  decideEarly?: boolean;
  /** zookeeper.fastleader.minNotificationInterval / maxNotificationInterval (200 ms / 60 s). */
  minNotificationIntervalMs?: number;
  maxNotificationIntervalMs?: number;
  /** Plain TCP (the default) or TLS (sslQuorum). */
  transport?: QuorumTransport;
}

export class ElectionRunner {
  readonly core: FastLeaderElection;
  private readonly cnx: QuorumCnxManager;
  private timer: NodeJS.Timeout | null = null;
  private waiting: ((d: Decision) => void) | null = null;
  /** Ends the pending elect() undecided. */
  private cancel: (() => void) | undefined;
  private stopped = false;

  constructor(private readonly opts: ElectionRunnerOptions) {
    const me = opts.config.members.find((m) => m.sid === opts.myId);
    if (!me?.addresses[0]) throw new Error(`server ${opts.myId} is not in the configuration`);
    const voters = opts.config.members.filter((m) => m.role === 'participant').map((m) => m.sid);
    this.core = new FastLeaderElection({
      myId: opts.myId,
      voters,
      config: formatQuorumConfig(opts.config),
      decideEarly: opts.decideEarly,
      minNotificationIntervalMs: opts.minNotificationIntervalMs,
      maxNotificationIntervalMs: opts.maxNotificationIntervalMs,
    });
    this.cnx = new QuorumCnxManager({
      myId: opts.myId,
      listen: { host: opts.listenHost ?? me.addresses[0].host, port: me.addresses[0].electionPort },
      peers: opts.config.members
        .filter((m) => m.sid !== opts.myId && m.addresses[0])
        .map((m) => ({ sid: m.sid, host: m.addresses[0]!.host, electionPort: m.addresses[0]!.electionPort })),
      onMessage: (sid, payload) => this.message(sid, payload),
      onReachability: (sid, reachable) => this.apply(this.core.peerReachable(sid, reachable)),
      logger: opts.logger,
      transport: opts.transport,
    });
  }

  /** A new config is active: our notifications carry it, its voters vote, its members are reachable. */
  reconfigure(config: QuorumConfig): void {
    this.core.reconfigure(
      config.members.filter((m) => m.role === 'participant').map((m) => m.sid),
      formatQuorumConfig(config),
    );
    for (const m of config.members) if (m.addresses[0]) this.cnx.setPeer(m.sid, m.addresses[0].host, m.addresses[0].electionPort);
  }

  /** Opens the election port. */
  async listen(): Promise<void> {
    await this.cnx.start();
  }

  /** Looks for a leader (a new round) and resolves with the decision, or with undefined if stopped first. */
  elect(lastLoggedZxid: number, currentEpoch: number): Promise<Decision | undefined> {
    const started = performance.now();
    return new Promise((resolve) => {
      this.cancel = () => resolve(undefined);
      this.waiting = (d) => {
        this.opts.logger?.info({ ...d, state: PeerState[d.state], ms: Math.round(performance.now() - started) }, 'election decided');
        resolve(d);
      };
      this.apply(this.core.start(this.now(), lastLoggedZxid, currentEpoch));
    });
  }

  /** Closes the election port; an election under way ends undecided (a server that stops while looking). */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.waiting = null;
    this.cancel?.();
    await this.cnx.close();
  }

  private now(): number {
    return performance.now();
  }

  private message(sid: number, payload: Buffer): void {
    let n;
    try {
      n = decodeNotification(payload);
    } catch (err) {
      this.opts.logger?.warn({ sid, err: (err as Error).message }, 'dropping a malformed notification');
      return;
    }
    this.opts.onNotification?.(sid, n);
    this.apply(this.core.received(this.now(), sid, n));
  }

  private apply(step: Step): void {
    if (this.stopped) return;
    if (step.newerConfig) {
      this.opts.logger?.warn({ sid: step.newerConfig.from, config: step.newerConfig.config }, 'a peer sent a newer configuration; while looking this server keeps its own, and learns the newer one from the leader (NEWLEADER)');
    }
    for (const m of step.messages) this.cnx.send(m.to, encodeNotification(m.notification));
    if (step.decision && this.waiting) {
      const done = this.waiting;
      this.waiting = null;
      done(step.decision);
    }
    this.schedule();
  }

  private schedule(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const deadline = this.core.nextDeadline();
    if (deadline === null || this.stopped) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.apply(this.core.tick(this.now()));
    }, Math.max(0, Math.ceil(deadline - this.now())));
  }
}
