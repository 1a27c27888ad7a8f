"""Three-server ensembles of zkts (the built CLI) or Apache ZooKeeper 3.8.0 (Debian's
QuorumPeerMain) on loopback, for the scripts that compare the two (failover-compare.py,
ensemble-bench.py). Each server gets the same zoo.cfg lines, its own dataDir, myid and free ports.
"""
import os, signal, socket, subprocess, time

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

    def client_hosts(self):
        return ','.join('127.0.0.1:%d' % m['client'] for m in self.members)

    def kill(self, m):
        m['proc'].send_signal(signal.SIGKILL)
        m['proc'].wait()

    def stop(self):
        for m in self.members:
            if m['proc'] and m['proc'].poll() is None:
                m['proc'].kill()
                m['proc'].wait()
