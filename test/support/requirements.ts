/**
 * The one rule for tests that need something from outside the repo (Apache ZooKeeper, Java, kazoo,
 * puresasl, a built dist/): on a developer's machine a missing dependency skips those tests with a
 * line saying what is missing; in CI (CI=true) it fails the run instead, because there a skip would
 * report green for tests that never ran. scripts/install-deps.sh installs all of them.
 *
 * Skips that are not about a missing dependency (e.g. a chmod test that means nothing as root) keep
 * their own skipIf and reason.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { ZKTS_BIN, zookeeperAvailable } from './servers.js';
import { certToolsAvailable } from './tls-certs.js';

/** CI=true (or any value but '', '0', 'false'), as CI services set it and .ci/run runs under. */
export function inCI(): boolean {
  const v = process.env.CI;
  return v !== undefined && v !== '' && v !== '0' && v.toLowerCase() !== 'false';
}

/**
 * Whether the tests that need `name` must skip: false when it is available; true when it is missing
 * outside CI (and says so on stderr); throws when it is missing under CI.
 */
export function requireOrSkip(name: string, available: boolean): boolean {
  if (available) return false;
  if (inCI()) {
    throw new Error(`CI=true and ${name} is missing: the tests that need it would be skipped, which CI does not allow (scripts/install-deps.sh installs it)`);
  }
  console.warn(`skipping the tests that need ${name}: it is missing (scripts/install-deps.sh installs it)`);
  return true;
}

/** Something a test needs from outside the repo: what it is (with where it comes from) and whether this machine has it. */
export interface Dependency {
  readonly name: string;
  available(): boolean;
}

/** A dependency whose check runs once, when first asked (some checks start a process). */
function dependency(name: string, check: () => boolean): Dependency {
  let known: boolean | undefined;
  return { name, available: () => (known ??= check()) };
}

const PYTHON = '/usr/bin/python3'; // Debian's interpreter, which has the python3-* packages (not the one first on PATH)
const pythonImports = (modules: string) => () => spawnSync(PYTHON, ['-c', `import ${modules}`], { stdio: 'ignore', timeout: 20_000 }).status === 0;

export const ZOOKEEPER = dependency('Apache ZooKeeper 3.8 (Debian package `zookeeper`: /usr/share/java/zookeeper.jar, /usr/bin/java)', zookeeperAvailable);
export const JAVA = dependency('java on PATH (Debian package `default-jre-headless`, a dependency of `zookeeper`)', () => spawnSync('java', ['-version'], { stdio: 'ignore' }).status === 0);
export const KAZOO = dependency(`kazoo for ${PYTHON} (Debian package \`python3-kazoo\`)`, pythonImports('kazoo.client, kazoo.recipe.election, kazoo.recipe.lock'));
export const PURESASL = dependency(`puresasl for ${PYTHON} (Debian package \`python3-pure-sasl\`)`, pythonImports('puresasl.client'));
export const DIST = dependency(`the built CLI ${ZKTS_BIN} (run \`npm run build\`)`, () => existsSync(ZKTS_BIN));
export const ZKCLI_SH = '/usr/share/zookeeper/bin/zkCli.sh';
export const ZKCLI = dependency(`${ZKCLI_SH} (Debian package \`zookeeper\`)`, () => existsSync(ZKCLI_SH));
export const CERT_TOOLS = dependency('openssl and keytool, to make test certificates (Debian packages `openssl` and `default-jre-headless`)', certToolsAvailable);
/** Apache Curator 5.4 and what it needs beside ZooKeeper's client (guava), as Debian installs them; slf4j-nop keeps its log quiet. */
export const CURATOR_JARS = ['curator-client', 'curator-framework', 'curator-recipes', 'guava', 'slf4j-api', 'slf4j-nop'].map((j) => `/usr/share/java/${j}.jar`);
export const CURATOR = dependency('Apache Curator 5.4 (Debian packages `libcurator-client-java`, `libcurator-framework-java`, `libcurator-recipes-java`)', () => CURATOR_JARS.every((j) => existsSync(j)));
export const CLI_MT_BIN = '/usr/lib/zookeeper/bin/cli_mt';
export const CLI_MT = dependency(`${CLI_MT_BIN} (Debian package \`zookeeper-bin\`)`, () => existsSync(CLI_MT_BIN));

/** requireOrSkip over every dependency a block of tests needs: true when the block must skip. */
export function skipWithout(...deps: Dependency[]): boolean {
  return deps.map((d) => requireOrSkip(d.name, d.available())).some((skip) => skip);
}
