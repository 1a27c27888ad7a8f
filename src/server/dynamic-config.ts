/**
 * Dynamic reconfiguration's configuration logic (ZooKeeper 3.8's QuorumPeerConfig, QuorumMaj and
 * PrepRequestProcessor's reconfig case): the ensemble's config as /zookeeper/config shows it, the
 * next config a reconfig request asks for, and the files ZooKeeper keeps it in
 * (`zoo.cfg.dynamic.<hex version>`, with zoo.cfg pointing at it). The text format itself is
 * QuorumVerifier.toString, shared with election notifications (src/jute/election.ts).
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { JuteError } from '../jute/errors.js';
import { formatQuorumConfig, parseQuorumConfig, type QuorumConfig, type QuorumMember } from '../jute/election.js';
import { ErrorCode, KeeperError } from '../jute/index.js';
import type { ServerConfig } from './config.js';

/** The config of zoo.cfg's (or its dynamic file's) server lines, with the dynamic file's version. */
export function quorumConfigOf(config: ServerConfig): QuorumConfig {
  return {
    version: config.configVersion,
    members: config.servers.map((s) => ({
      sid: s.id,
      addresses: [{ host: s.host, quorumPort: s.quorumPort, electionPort: s.electionPort }],
      role: s.role,
      ...(s.clientPort !== undefined ? { client: { host: s.clientAddress ?? '0.0.0.0', port: s.clientPort } } : {}),
    })),
  };
}

export function votersIn(c: QuorumConfig): Set<number> {
  return new Set(c.members.filter((m) => m.role === 'participant').map((m) => m.sid));
}

export function observersIn(c: QuorumConfig): Set<number> {
  return new Set(c.members.filter((m) => m.role === 'observer').map((m) => m.sid));
}

/** What a reconfig request asks (ReconfigRequest without curConfigId). */
export interface MembershipChange {
  joiningServers: string | null;
  leavingServers: string | null;
  newMembers: string | null;
}

/**
 * The config a reconfig request makes of `current`, with `version` (the reconfig txn's zxid), as
 * PrepRequestProcessor builds it: `newMembers` (comma or newline separated server lines) replaces
 * the membership; otherwise `leavingServers` (comma separated sids) go and `joiningServers` (comma
 * separated `server.N=host:quorumPort:electionPort[:role];[clientHost:]clientPort`) join or replace
 * theirs. Throws KeeperError BADARGUMENTS for what ZooKeeper refuses with it.
 */
export function nextConfig(current: QuorumConfig, change: MembershipChange, version: number, standaloneEnabled: boolean): QuorumConfig {
  let members: QuorumMember[];
  if (change.newMembers !== null) {
    members = parseLines(change.newMembers.replaceAll(',', '\n')).members;
  } else {
    const next = new Map(current.members.map((m) => [m.sid, m]));
    for (const leaving of splitList(change.leavingServers)) {
      if (!/^\d+$/.test(leaving)) throw badArguments(`not a server id: ${leaving}`);
      next.delete(Number(leaving));
    }
    for (const joiner of splitList(change.joiningServers)) {
      const parts = joiner.split('=').filter((p) => p !== '');
      if (parts.length !== 2) throw badArguments('Wrong format of server string');
      const sid = parts[0]!.slice(parts[0]!.lastIndexOf('.') + 1).trim();
      if (!/^\d+$/.test(sid)) throw badArguments(`not a server id: ${parts[0]}`);
      const member = parseLines(`server.${sid}=${parts[1]}`).members[0]!;
      if (!member.client) throw badArguments('Wrong format of server string - each server should have 3 ports specified');
      for (const other of next.values()) if (other.sid !== member.sid) checkAddressDuplicate(member, other);
      next.delete(member.sid);
      next.set(member.sid, member);
    }
    members = [...next.values()];
  }
  const config = { members, version };
  // ZooKeeper's check: with standaloneEnabled a config of one voter would not run as an ensemble.
  const voters = votersIn(config).size;
  if (standaloneEnabled && voters < 2) throw badArguments('Reconfig failed - new configuration must include at least 2 followers');
  if (voters < 1) throw badArguments('Reconfig failed - new configuration must include at least 1 follower');
  return config;
}

function splitList(text: string | null): string[] {
  return (text ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

function parseLines(text: string): QuorumConfig {
  try {
    const parsed = parseQuorumConfig(text);
    if (parsed.members.length === 0) throw badArguments('no server lines');
    return parsed;
  } catch (e) {
    if (e instanceof JuteError) throw badArguments(e.message);
    throw e;
  }
}

/** QuorumServer.checkAddressDuplicate: a joiner may not take another server's quorum or election address. */
function checkAddressDuplicate(a: QuorumMember, b: QuorumMember): void {
  const endpoints = (m: QuorumMember) => m.addresses.flatMap((x) => [`${x.host}:${x.quorumPort}`, `${x.host}:${x.electionPort}`]);
  const theirs = new Set(endpoints(b));
  for (const e of endpoints(a)) if (theirs.has(e)) throw badArguments(`${e} of server ${a.sid} is used by server ${b.sid}`);
}

function badArguments(message: string): KeeperError {
  return new KeeperError(ErrorCode.BADARGUMENTS, message);
}

/** The text of /zookeeper/config and of election notifications. */
export function configText(c: QuorumConfig): string {
  return formatQuorumConfig(c);
}

/** Parses config text (a reconfig txn's data, NEWLEADER's); null when it is not one. */
export function parseConfigText(text: string): QuorumConfig | null {
  try {
    return parseQuorumConfig(text);
  } catch (e) {
    if (e instanceof JuteError) return null;
    throw e;
  }
}

/**
 * Writes the config as ZooKeeper does on activating it (QuorumPeer.setQuorumVerifier with
 * writeToDisk): `<zoo.cfg>.dynamic.<hex version>` holds the server lines sorted as strings, without
 * the version (it is in the name), and zoo.cfg loses its server lines and peerType and names that
 * file in `dynamicConfigFile` (QuorumPeerConfig.editStaticConfig). The first time, zoo.cfg is kept
 * as zoo.cfg.bak, as ZooKeeper keeps it when it moves the server lines out. Returns the dynamic file.
 */
export function writeConfigFiles(configFile: string, c: QuorumConfig): string {
  const dynamicFile = `${resolve(configFile)}.dynamic.${c.version.toString(16)}`;
  const lines = configText(c)
    .split('\n')
    .filter((l) => !l.startsWith('version='))
    .sort();
  writeAtomically(dynamicFile, lines.join('\n'));
  const staticText = readFileSync(configFile, 'utf8');
  const keyOf = (line: string) => /^\s*([^=:\s#!]+)/.exec(line)?.[1] ?? '';
  const movesOut = (key: string) => key.startsWith('server.') || key.startsWith('group') || key.startsWith('weight') || key === 'peerType';
  const staticLines = staticText.split(/\r?\n/);
  if (staticLines.some((l) => movesOut(keyOf(l))) && !existsSync(`${configFile}.bak`)) writeAtomically(`${configFile}.bak`, staticText);
  // Unlike editStaticConfig, clientPort and clientPortAddress stay even when our server line has a
  // client address: zkts takes its client port from zoo.cfg only.
  const kept = staticLines.filter((l) => !movesOut(keyOf(l)) && keyOf(l) !== 'dynamicConfigFile');
  while (kept.length > 0 && kept[kept.length - 1]!.trim() === '') kept.pop();
  writeAtomically(configFile, `${kept.join('\n')}\ndynamicConfigFile=${dynamicFile}\n`);
  return dynamicFile;
}

/** ZooKeeper's AtomicFileWritingIdiom: a temporary file renamed over the target. */
function writeAtomically(file: string, text: string): void {
  const tmp = `${file}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, file);
}
