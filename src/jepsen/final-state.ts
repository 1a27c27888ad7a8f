/**
 * After the healing: every server, asked directly (its real client port) after a sync(), must hold
 * the same znodes with the same data under the workload's root. Ephemerals of sessions that are
 * still expiring can make servers differ for a moment, so it asks again until they agree or time
 * runs out.
 */
import { ZkClient } from '../client/index.js';
import type { Cluster } from './cluster.js';

export interface FinalState {
  agree: boolean;
  /** Znodes under the root, per server (as read last). */
  counts: Record<string, number>;
  /** The first differences found, when they do not agree. */
  differences: string[];
}

async function readTree(port: number, root: string): Promise<Map<string, string>> {
  const c = await ZkClient.connect({ host: '127.0.0.1', port, timeout: 10_000, connectTimeout: 5000 });
  try {
    await c.sync(root);
    const out = new Map<string, string>();
    const walk = async (path: string): Promise<void> => {
      const { data } = await c.getData(path);
      out.set(path, data?.toString('base64') ?? '');
      for (const child of await c.getChildren(path)) await walk(`${path}/${child}`);
    };
    if (await c.exists(root)) await walk(root);
    return out;
  } finally {
    await c.close().catch(() => c.disconnect());
  }
}

export async function compareFinalState(cluster: Cluster, root: string, timeoutMs: number): Promise<FinalState> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const trees = new Map<number, Map<string, string>>();
    const differences: string[] = [];
    for (const sid of cluster.sids) {
      try {
        trees.set(sid, await readTree(cluster.node(sid).clientPort, root));
      } catch (e) {
        differences.push(`s${sid}: could not read (${(e as Error).message})`);
      }
    }
    const [first, ...rest] = [...trees.entries()];
    if (first) {
      for (const [sid, tree] of rest) {
        for (const [path, data] of first[1]) {
          if (!tree.has(path)) differences.push(`${path} on s${first[0]}, missing on s${sid}`);
          else if (tree.get(path) !== data) differences.push(`${path} differs between s${first[0]} and s${sid}`);
        }
        for (const path of tree.keys()) if (!first[1].has(path)) differences.push(`${path} on s${sid}, missing on s${first[0]}`);
      }
    }
    const counts = Object.fromEntries([...trees.entries()].map(([sid, t]) => [`s${sid}`, t.size]));
    if (differences.length === 0) return { agree: true, counts, differences };
    if (Date.now() > deadline) return { agree: false, counts, differences: differences.slice(0, 20) };
    await new Promise((r) => setTimeout(r, 500));
  }
}
