#!/usr/bin/python3
"""Failover time of 3-server ensembles, zkts and Apache ZooKeeper 3.8.0 side by side.

    /usr/bin/python3 scripts/failover-compare.py [--rounds N] [--kinds zkts,zookeeper]

For each kind: start 3 servers on loopback (tickTime 2000, initLimit 10, syncLimit 5, fsync on),
then N times: find the leader (srvr), kill -9 it, and time until a kazoo client connected to the
two survivors gets its first create acknowledged; start the killed server again and wait until
all three serve. Prints each round and the median and worst per kind. Build zkts first
(npm run build). Needs Debian's zookeeper and python3-kazoo.
"""
import argparse, os, shutil, signal, socket, statistics, subprocess, sys, tempfile, time

from kazoo.client import KazooClient

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CLASSPATH = ':'.join('/usr/share/java/' + j for j in ['zookeeper.jar', 'zookeeper-jute.jar', 'slf4j-api.jar', 'slf4j-log4j12.jar', 'log4j-1.2.jar'])


def free_port():
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    port = s.getsockname()[1]
    s.close()
    return port


def four(port, word):
    try:
        s = socket.create_connection(('127.0.0.1', port), timeout=1)
        s.sendall(word.encode())
        out = b''
        while True:
            chunk = s.recv(4096)
            if not chunk:
                return out.decode()
            out += chunk
    except OSError:
        return ''


def mode(port):
    for line in four(port, 'srvr').splitlines():
        if line.startswith('Mode: '):
            return line[6:]
    return None


class Ensemble:
    def __init__(self, kind, base):
        self.kind = kind
        ports = [(free_port(), free_port(), free_port()) for _ in range(3)]
        lines = ['server.%d=127.0.0.1:%d:%d' % (i + 1, q, e) for i, (_, q, e) in enumerate(ports)]
        self.members = []
        for i, (client, _, _) in enumerate(ports):
            d = os.path.join(base, '%s-%d' % (kind, i + 1))
            os.makedirs(os.path.join(d, 'data'))
            with open(os.path.join(d, 'data', 'myid'), 'w') as f:
                f.write('%d\n' % (i + 1))
            cfg = os.path.join(d, 'zoo.cfg')
            text = '\n'.join(['tickTime=2000', 'initLimit=10', 'syncLimit=5', 'dataDir=%s/data' % d, 'clientPort=%d' % client,
                              'clientPortAddress=127.0.0.1', '4lw.commands.whitelist=*', 'admin.enableServer=false'] + lines) + '\n'
            self.members.append({'cfg': cfg, 'text': text, 'client': client, 'dir': d, 'proc': None})
        for m in self.members:
            self.start(m)

    def start(self, m):
        with open(m['cfg'], 'w') as f:
            f.write(m['text'])
        log = open(os.path.join(m['dir'], 'out.log'), 'ab')
        if self.kind == 'zkts':
            cmd = ['node', os.path.join(ROOT, 'dist/bin/zkts.js'), 'start', '--config', m['cfg'], '--log-level', 'warn']
        else:
            cmd = ['java', '-Xmx512m', '-cp', CLASSPATH, '-Dzookeeper.admin.enableServer=false', 'org.apache.zookeeper.server.quorum.QuorumPeerMain', m['cfg']]
        m['proc'] = subprocess.Popen(cmd, stdout=log, stderr=log, cwd=m['dir'])

    def settle(self, timeout=60):
        deadline = time.time() + timeout
        while time.time() < deadline:
            modes = [mode(m['client']) for m in self.members if m['proc'].poll() is None]
            if modes.count('leader') == 1 and all(x in ('leader', 'follower') for x in modes):
                return next(m for m in self.members if mode(m['client']) == 'leader')
            time.sleep(0.05)
        raise RuntimeError('%s ensemble did not settle' % self.kind)

    def stop(self):
        for m in self.members:
            if m['proc'] and m['proc'].poll() is None:
                m['proc'].kill()
                m['proc'].wait()


def failover_round(ens, n):
    leader = ens.settle()
    survivors = [m for m in ens.members if m is not leader]
    client = KazooClient(hosts=','.join('127.0.0.1:%d' % m['client'] for m in survivors), timeout=30)
    client.start(timeout=30)
    client.create('/before-%d' % n, b'x')
    t0 = time.time()
    leader['proc'].send_signal(signal.SIGKILL)
    leader['proc'].wait()
    while True:
        try:
            client.create('/after-%d' % n, b'x')
            break
        except Exception:
            time.sleep(0.005)
    elapsed = time.time() - t0
    client.stop()
    client.close()
    ens.start(leader)
    ens.settle()
    return elapsed


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--rounds', type=int, default=5)
    ap.add_argument('--kinds', default='zkts,zookeeper')
    args = ap.parse_args()
    base = tempfile.mkdtemp(prefix='zkts-failover-')
    results = {}
    try:
        for kind in args.kinds.split(','):
            ens = Ensemble(kind, base)
            try:
                ens.settle()
                times = []
                for n in range(args.rounds):
                    t = failover_round(ens, n)
                    times.append(t)
                    print('%s round %d: first acknowledged write %.0f ms after kill -9 of the leader' % (kind, n + 1, t * 1000), flush=True)
                results[kind] = times
            finally:
                ens.stop()
    finally:
        shutil.rmtree(base, ignore_errors=True)
    for kind, times in results.items():
        print('%s: median %.0f ms, worst %.0f ms over %d rounds' % (kind, statistics.median(times) * 1000, max(times) * 1000, len(times)))
    if len(results) == 2:
        a, b = (statistics.median(results[k]) for k in args.kinds.split(','))
        print('median ratio %s/%s: %.2fx' % (*args.kinds.split(','), a / b))


if __name__ == '__main__':
    sys.exit(main())
