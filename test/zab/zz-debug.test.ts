import { it } from 'vitest';
import { EnsembleSim } from './sim/ensemble-sim.js';
it('debug', () => {
  const sim = new EnsembleSim({ seed: 302977, servers: 3, durationMs: 4_000, settleMs: 4_000 });
  const anySim = sim as any;
  const origDeliver = anySim.deliver.bind(sim);
  anySim.deliver = (from: number, to: number, gen: number, packet: any, snap: any) => {
    if (anySim.now > 6100 && (from === 1 || to === 1)) {
      const cur = anySim.channelGen.get(from < to ? `${from}-${to}` : `${to}-${from}`) ?? 0;
      const p = anySim.peers[to - 1];
      console.log('DELIVER', anySim.now, from, '->', to, packet.type, 'gen', gen, 'cur', cur, 'toRole', p.role?.constructor.name, p.role?.phase);
    }
    return origDeliver(from, to, gen, packet, snap);
  };
  try { sim.run(); } catch (e) { console.log((e as Error).message.split('\n')[0]); }
});
