import { LockWorkload } from './lock.js';
import { RegisterWorkload } from './register.js';
import { SessionWorkload } from './session.js';
import { SetWorkload } from './set.js';
import type { Workload, WorkloadContext } from './workload.js';

export const WORKLOADS = ['register', 'set', 'lock', 'session'] as const;
export type WorkloadName = (typeof WORKLOADS)[number];

export function makeWorkload(name: WorkloadName, ctx: WorkloadContext): Workload {
  switch (name) {
    case 'register':
      return new RegisterWorkload(ctx);
    case 'set':
      return new SetWorkload(ctx);
    case 'lock':
      return new LockWorkload(ctx);
    case 'session':
      return new SessionWorkload(ctx);
  }
}
