/**
 * JSON as ZooKeeper's AdminServer writes it (Jackson with INDENT_OUTPUT): session ids are 64-bit
 * numbers written in full (JSON.stringify cannot write a bigint, and a double would round them),
 * doubles keep Java's ".0", and the layout is Jackson's default pretty printer's.
 */
import { JavaDouble } from '../server-stats.js';

export type Json = null | boolean | number | bigint | string | JavaDouble | Json[] | { [key: string]: Json | undefined };

export function writeJson(value: Json, indent = ''): string {
  if (value === null) return 'null';
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : 'null';
  if (typeof value === 'boolean') return String(value);
  if (typeof value === 'string') return JSON.stringify(value);
  if (value instanceof JavaDouble) return Number.isFinite(value.value) ? value.toString() : 'null';
  if (Array.isArray(value)) return value.length === 0 ? '[ ]' : `[ ${value.map((v) => writeJson(v, indent)).join(', ')} ]`;
  const inner = indent + '  ';
  const entries = Object.entries(value).filter(([, v]) => v !== undefined);
  if (entries.length === 0) return '{ }';
  return `{\n${entries.map(([k, v]) => `${inner}${JSON.stringify(k)} : ${writeJson(v as Json, inner)}`).join(',\n')}\n${indent}}`;
}
