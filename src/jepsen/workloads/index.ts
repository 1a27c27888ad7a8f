import { RegisterWorkload } from './register.js';
import { SetWorkload } from './set.js';
import type { Workload, WorkloadContext } from './workload.js';

export const WORKLOADS = ['register', 'set'] as const;
export type WorkloadName = (typeof WORKLOADS)[number];

export function makeWorkload(name: WorkloadName, ctx: WorkloadContext): Workload {
  switch (name) {
    case 'register':
      return new RegisterWorkload(ctx);
    case 'set':
      return new SetWorkload(ctx);
  }
}
