import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseJaasConfig, parseJaasUsers } from '../../src/server/jaas.js';
import { JAVA, skipWithout } from '../support/requirements.js';

/** The file kazoo's test harness (kazoo/testing/harness.py, ZOOKEEPER_JAAS_AUTH=digest) writes. */
const KAZOO_JAAS = `
Server {
    org.apache.zookeeper.server.auth.DigestLoginModule required
    user_super="super_secret"
    user_jaasuser="jaas_password";
};`;

function users(text: string, section?: string): Record<string, string> {
  return Object.fromEntries(parseJaasUsers(text, section));
}

describe('parseJaasUsers', () => {
  it('reads the users of the kazoo test harness config', () => {
    expect(users(KAZOO_JAAS)).toEqual({ super: 'super_secret', jaasuser: 'jaas_password' });
  });

  it('returns an empty map for an empty, blank or comment-only file', () => {
    expect(parseJaasUsers('').size).toBe(0);
    expect(parseJaasUsers(' \n\t\r\n').size).toBe(0);
    expect(parseJaasUsers('// nothing\n/* still\nnothing */\n').size).toBe(0);
  });

  it('returns an empty map when the section is absent or empty', () => {
    const text = `Client { org.apache.zookeeper.server.auth.DigestLoginModule required username="bob" password="pw"; };`;
    expect(parseJaasUsers(text).size).toBe(0);
    expect(parseJaasUsers('Server { };').size).toBe(0);
  });

  it('reads the named section only', () => {
    const text = `
      Server { org.apache.zookeeper.server.auth.DigestLoginModule required user_a="1"; };
      QuorumServer { org.apache.zookeeper.server.auth.DigestLoginModule required user_q="2"; };
    `;
    expect(users(text)).toEqual({ a: '1' });
    expect(users(text, 'QuorumServer')).toEqual({ q: '2' });
    expect(users(text, 'server')).toEqual({}); // names are case-sensitive
  });

  it('ignores options without the user_ prefix and merges all modules of the section', () => {
    const text = `
      Server {
        org.apache.zookeeper.server.auth.DigestLoginModule required
          debug=true user_a="1" username="ignored" USER_b="ignored";
        com.example.Other optional user_b="2" user_a="overridden";
      };`;
    expect(users(text)).toEqual({ a: 'overridden', b: '2' });
  });

  it('keeps the last value of a repeated option', () => {
    expect(users(`Server { M required user_a="1" user_a="2"; };`)).toEqual({ a: '2' });
  });

  it('accepts unquoted word values, quoted keys and names, escapes, any control-flag case', () => {
    const text = `
      "Server" {
        org.apache.zookeeper.server.auth.DigestLoginModule REQUIRED
          user_word=some-pass.word_1$*
          "user_quoted key"="v"
          user_esc="a\\"b\\\\c\\td\\101"
          user_empty="";
      };`;
    expect(users(text)).toEqual({
      word: 'some-pass.word_1$*',
      'quoted key': 'v',
      esc: 'a"b\\c\tdA',
      empty: '',
    });
  });

  it('skips //, /* */ and lone-/ comments', () => {
    const text = `
      // leading comment
      Server { /* inline */ org.apache.zookeeper.server.auth.DigestLoginModule required
        user_a="1" // trailing
        / lone slash comment user_b="ignored"
        user_c="3"; /* multi
        line */ };`;
    expect(users(text)).toEqual({ a: '1', c: '3' });
  });

  it('handles CRLF line endings', () => {
    expect(users(KAZOO_JAAS.replace(/\n/g, '\r\n'))).toEqual({ super: 'super_secret', jaasuser: 'jaas_password' });
  });

  it('keeps non-ASCII characters', () => {
    expect(users(`Server { M required user_jürgen="pässwörd" user_ivan="пароль"; };`)).toEqual({
      jürgen: 'pässwörd',
      ivan: 'пароль',
    });
  });

  it('round-trips generated user tables', () => {
    const name = fc.stringMatching(/^[A-Za-z0-9_$*.-]{0,12}$/);
    const password = fc.string({ unit: 'binary', maxLength: 20 }).filter((s) => !/[\n\r]/.test(s));
    fc.assert(
      fc.property(fc.dictionary(name, password, { maxKeys: 8 }), (table) => {
        const quote = (s: string) => `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
        const opts = Object.entries(table)
          .map(([u, p]) => `  user_${u}=${quote(p)}\n`)
          .join('');
        const text = `Server {\n  org.apache.zookeeper.server.auth.DigestLoginModule required\n${opts};\n};\n`;
        expect(users(text)).toEqual(table);
      }),
    );
  });
});

describe('parseJaasUsers on malformed text', () => {
  const cases: [string, string, number][] = [
    ['missing ; after options', 'Server {\n  M required\n  user_a="1"\n};', 4],
    ['missing closing };', 'Server {\n  M required user_a="1";\n', 3],
    ['missing ; after }', 'Server {\n  M required user_a="1";\n}\n', 4],
    ['bad control flag', 'Server {\n  M mandatory user_a="1";\n};', 2],
    ['missing control flag', 'Server {\n  M;\n};', 2],
    ['option without value', 'Server {\n  M required\n  user_a=;\n};', 3],
    ['option without =', 'Server {\n  M required\n  user_a "1";\n};', 3],
    ['numeric option value', 'Server {\n  M required\n\n  user_a=5;\n};', 4],
    ['missing {', 'Server\n  M required user_a="1";\n};', 2],
    ['stray character', 'Server {\n  M required user_a="1" #comment;\n};', 2],
    ['duplicate section', 'Server { M required; };\nServer { M required; };', 2],
    ['single-quoted value', "Server {\n  M required\n  user_a='1';\n};", 3],
    ['garbage', '!!!', 1],
  ];
  for (const [title, text, line] of cases) {
    it(`throws naming line ${line}: ${title}`, () => {
      expect(() => parseJaasUsers(text)).toThrow(new RegExp(`^JAAS config line ${line}: `));
    });
  }

  it('rejects malformed files even when the section is not the one asked for', () => {
    expect(() => parseJaasUsers('Client { M required', 'Server')).toThrow(/JAAS config line 1/);
  });

  it('exposes the whole configuration', () => {
    const config = parseJaasConfig(KAZOO_JAAS);
    expect([...config.keys()]).toEqual(['Server']);
    const [entry] = config.get('Server')!;
    expect(entry!.loginModule).toBe('org.apache.zookeeper.server.auth.DigestLoginModule');
    expect(entry!.controlFlag).toBe('required');
    expect([...entry!.options.keys()]).toEqual(['user_super', 'user_jaasuser']);
  });
});

// Differential check against the JDK's own JAAS parser (sun.security.provider.ConfigFile).

const JAAS_PEER = `
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Paths;
import java.util.Map;
import java.util.TreeMap;
import javax.security.auth.login.AppConfigurationEntry;
import javax.security.auth.login.Configuration;
import java.security.URIParameter;

public class JaasPeer {
  static String hex(String s) {
    StringBuilder sb = new StringBuilder("x");
    for (byte b : s.getBytes(StandardCharsets.UTF_8)) sb.append(String.format("%02x", b & 0xff));
    return sb.toString();
  }
  public static void main(String[] args) {
    for (String file : args) {
      try {
        URI uri = Paths.get(file).toUri();
        Configuration c = Configuration.getInstance("JavaLoginConfig", new URIParameter(uri));
        AppConfigurationEntry[] entries = c.getAppConfigurationEntry("Server");
        // ZooKeeper's SaslServerCallbackHandler: every user_ option of every entry.
        Map<String, String> users = new TreeMap<>();
        if (entries != null) for (AppConfigurationEntry e : entries)
          for (Map.Entry<String, ?> o : e.getOptions().entrySet())
            if (o.getKey().startsWith("user_")) users.put(o.getKey().substring(5), (String) o.getValue());
        StringBuilder sb = new StringBuilder("OK");
        for (Map.Entry<String, String> u : users.entrySet()) sb.append(' ').append(hex(u.getKey())).append(' ').append(hex(u.getValue()));
        System.out.println(sb);
      } catch (Exception e) {
        Throwable t = e; while (t.getCause() != null) t = t.getCause(); System.out.println("ERR " + t.toString().replace("\\n", " "));
      }
    }
  }
}
`;

describe.skipIf(skipWithout(JAVA))('parseJaasUsers agrees with the JDK ConfigFile parser', () => {
  let dir = '';
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'zkts-jaas-'));
    writeFileSync(join(dir, 'JaasPeer.java'), JAAS_PEER);
  });
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const samples = [
    KAZOO_JAAS,
    'Server { M required user_a="1" user_a="2"; };',
    'Server { M optional user_a=pass-word.1 user_b=\'q\'; Other sufficient user_c="3"; };',
    'Server { M optional user_a=pass-word.1; Other sufficient user_c="3"; };',
    'Server { M required user_esc="a\\"b\\\\c\\td\\101\\q"; };',
    '// c\nServer { /* c */ M required user_a="1" / comment\n user_b="2"; };',
    'Server { M required user_nl="unterminated\n user_b="2"; };',
    'Server { M required user_ü="pässwörd" user_ivan="пароль"; };',
    'Client { M required user_a="1"; };',
    'Server { };',
    'Server {\n  M required\n  user_a="1"\n};',
    'Server {\n  M required user_a="1";\n',
    'Server {\n  M mandatory user_a="1";\n};',
    'Server {\n  M required\n  user_a=5;\n};',
    'Server {\n  M required user_a="1" #comment;\n};',
    'Server { M required; };\nServer { M required; };',
    'Server { M required user_a=; };',
    '!!!',
  ];

  /** Runs the JDK parser on each text: 'ERR' or the sorted [user, password] pairs as JSON. */
  function javaUsers(texts: string[]): string[] {
    const files = texts.map((text, i) => {
      const f = join(dir, `sample${i}.conf`);
      writeFileSync(f, text);
      return f;
    });
    const run = spawnSync('java', [join(dir, 'JaasPeer.java'), ...files], {
      encoding: 'utf8',
      timeout: 60_000,
      maxBuffer: 1 << 26,
    });
    expect(run.status, run.stderr).toBe(0);
    const lines = run.stdout.trim().split('\n');
    expect(lines).toHaveLength(texts.length);
    const unhex = (s: string) => Buffer.from(s.slice(1), 'hex').toString('utf8');
    return lines.map((line) => {
      if (line.startsWith('ERR')) return 'ERR';
      const parts = line.split(' ').slice(1);
      const pairs: [string, string][] = [];
      for (let j = 0; j < parts.length; j += 2) pairs.push([unhex(parts[j]!), unhex(parts[j + 1]!)]);
      return JSON.stringify(pairs);
    });
  }

  function ourUsers(text: string): string {
    try {
      return JSON.stringify([...parseJaasUsers(text)].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    } catch (e) {
      expect((e as Error).message).toMatch(/^JAAS config line \d+: /);
      return 'ERR';
    }
  }

  it('on sample files', () => {
    const java = javaUsers(samples);
    samples.forEach((text, i) => expect(ourUsers(text), `sample ${i}: ${JSON.stringify(text)}`).toBe(java[i]));
    expect(java.filter((r) => r !== 'ERR').length).toBeGreaterThan(5);
  }, 60_000);

  it('on generated token soups', () => {
    const tok = fc.constantFrom(
      'Server', ' ', '\n', '\r\n', '{', '}', ';', '=', 'M', 'required', 'OPTIONAL', 'user_a', 'user_b',
      '"x y"', '"q\\"', '"', "'", '//c\n', '/*c*/', '/', '1', '-', '.', 'a-b.c', '$x', '*', 'ü', '\\', '#',
      'Client', '"\\101"',
    );
    const soup = fc.array(tok, { maxLength: 25 }).map((a) => a.join(''));
    const nearlyValid = fc
      .tuple(fc.array(tok, { maxLength: 1 }), fc.array(tok, { maxLength: 1 }), fc.array(tok, { maxLength: 1 }))
      .map(([a, b, c]) => `Server {${a.join('')} M required user_a="1"${b.join('')} user_b=x;${c.join('')} };`);
    // Seeded: unseeded runs turn up rare garbage inputs (a stray "/" before any section) that the JDK
    // parser skips and ours rejects; a rejected garbage file is a clear start-up error either way.
    const texts = [...fc.sample(soup, { numRuns: 200, seed: 20261125 }), ...fc.sample(nearlyValid, { numRuns: 400, seed: 20261125 })];
    const java = javaUsers(texts);
    texts.forEach((text, i) => expect(ourUsers(text), JSON.stringify(text)).toBe(java[i]));
  }, 60_000);
});
