/**
 * What the admin server and Prometheus tests need from outside the repo: the Jetty and Jackson jars
 * ZooKeeper's AdminServer loads (Debian's libjetty9-java, libservlet-api-java and
 * libjackson2-databind-java), and Debian's prometheus (the server and promtool).
 */
import { existsSync } from 'node:fs';
import { ZOOKEEPER_CLASSPATH } from './servers.js';

export const ADMIN_JARS = [
  'servlet-api', 'jetty9-server', 'jetty9-servlet', 'jetty9-http', 'jetty9-io', 'jetty9-util', 'jetty9-security',
  'jackson-databind', 'jackson-core', 'jackson-annotations',
].map((j) => `/usr/share/java/${j}.jar`);

/** ZooKeeper's classpath with what JettyAdminServer needs (else ZooKeeper starts without it). */
export const ZOOKEEPER_ADMIN_CLASSPATH = [ZOOKEEPER_CLASSPATH, ...ADMIN_JARS].join(':');

export const JETTY = {
  name: 'the Jetty, servlet and Jackson jars in /usr/share/java (Debian packages `libjetty9-java`, `libservlet-api-java`, `libjackson2-databind-java`)',
  available: () => ADMIN_JARS.every((j) => existsSync(j)),
};

export const PROMETHEUS_BIN = '/usr/bin/prometheus';
export const PROMTOOL_BIN = '/usr/bin/promtool';
export const PROMETHEUS = {
  name: `${PROMETHEUS_BIN} and ${PROMTOOL_BIN} (Debian package \`prometheus\`)`,
  available: () => existsSync(PROMETHEUS_BIN) && existsSync(PROMTOOL_BIN),
};

/** GET a URL on 127.0.0.1; the status and the body as text. */
export async function httpGet(url: string, init?: RequestInit): Promise<{ status: number; body: string; type: string | null }> {
  const res = await fetch(url, init);
  return { status: res.status, body: await res.text(), type: res.headers.get('content-type') };
}
