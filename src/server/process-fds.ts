/** The process's file descriptors as mntr reports them, read from Linux's /proc as the JVM reads them. */
import { readFileSync, readdirSync } from 'node:fs';

/**
 * Descriptors open now: the entries of /proc/self/fd, less the one that listing them opens itself
 * (as Java's UnixOperatingSystemMXBean.getOpenFileDescriptorCount). undefined without /proc.
 */
export function openFileDescriptorCount(): number | undefined {
  try {
    return readdirSync('/proc/self/fd').length - 1;
  } catch {
    return undefined;
  }
}

/** The soft RLIMIT_NOFILE, from /proc/self/limits; undefined without /proc or when unlimited. */
export function maxFileDescriptorCount(): number | undefined {
  let limits: string;
  try {
    limits = readFileSync('/proc/self/limits', 'utf8');
  } catch {
    return undefined;
  }
  // "Max open files            20000                20000                files"
  const soft = /^Max open files\s+(\S+)/m.exec(limits)?.[1];
  return soft !== undefined && /^\d+$/.test(soft) ? Number(soft) : undefined;
}
