/**
 * Parser for JAAS login configuration files (the `-Djava.security.auth.login.config=...`
 * file ZooKeeper reads), modelled on the JDK's `sun.security.provider.ConfigFile` parser
 * (a `java.io.StreamTokenizer` with `"`-quoted strings, `//`, `/* *\/` and lone-`/` comments,
 * word characters `A-Za-z$_*-.0-9`), so that a file Java ZooKeeper accepts is accepted
 * here and a file it rejects is rejected here with an error naming the line.
 *
 * Grammar (ConfigFile):
 *
 *   file   := entry*
 *   entry  := NAME '{' module* '}' ';'
 *   module := CLASS FLAG (KEY '=' VALUE)* ';'
 *   FLAG   := required | requisite | sufficient | optional   (case-insensitive)
 *
 * `NAME`, `CLASS`, `FLAG`, `KEY` and `VALUE` are unquoted words or quoted strings.
 * Not supported: `${system.property}` expansion in option values (values are kept verbatim).
 */

export type JaasControlFlag = 'required' | 'requisite' | 'sufficient' | 'optional';

export interface JaasModuleEntry {
  /** The login module class name, e.g. `org.apache.zookeeper.server.auth.DigestLoginModule`. */
  readonly loginModule: string;
  readonly controlFlag: JaasControlFlag;
  /** Module options in file order; a repeated key keeps its last value (as Java's HashMap). */
  readonly options: ReadonlyMap<string, string>;
}

/** Prefix of the DigestLoginModule options that define DIGEST-MD5 users (SaslServerCallbackHandler.USER_PREFIX). */
export const JAAS_USER_PREFIX = 'user_';

/** ZooKeeper's default server login context (ZooKeeperSaslServer.DEFAULT_LOGIN_CONTEXT_NAME). */
export const JAAS_DEFAULT_SERVER_SECTION = 'Server';

type Token =
  | { kind: 'word'; value: string; line: number }
  | { kind: 'quoted'; value: string; line: number }
  | { kind: 'number'; text: string; line: number }
  | { kind: 'char'; value: string; line: number }
  | { kind: 'eof'; line: number };

function isWordStart(code: number): boolean {
  return (
    (code >= 0x41 && code <= 0x5a) || // A-Z
    (code >= 0x61 && code <= 0x7a) || // a-z
    code === 0x24 || // $
    code === 0x5f || // _
    code === 0x2a || // *
    code >= 0xa0 // StreamTokenizer: 160..255 are word chars, >= 256 are alphabetic
  );
}

function isDigitOrDot(code: number): boolean {
  return (code >= 0x30 && code <= 0x39) || code === 0x2e;
}

function isWordPart(code: number): boolean {
  return isWordStart(code) || isDigitOrDot(code) || code === 0x2d; // '-'
}

class Tokenizer {
  private pos = 0;
  private lineNo = 1;

  constructor(private readonly text: string) {}

  private code(at = this.pos): number {
    return at < this.text.length ? this.text.charCodeAt(at) : -1;
  }

  /** Consumes one end-of-line sequence (\n, \r or \r\n) at pos, if any. */
  private eatEol(): boolean {
    const c = this.code();
    if (c === 0x0a) {
      this.pos++;
      this.lineNo++;
      return true;
    }
    if (c === 0x0d) {
      this.pos++;
      if (this.code() === 0x0a) this.pos++;
      this.lineNo++;
      return true;
    }
    return false;
  }

  private skipToEol(): void {
    while (this.pos < this.text.length) {
      const c = this.code();
      if (c === 0x0a || c === 0x0d) return;
      this.pos++;
    }
  }

  next(): Token {
    for (;;) {
      if (this.pos >= this.text.length) return { kind: 'eof', line: this.lineNo };
      const c = this.code();
      if (this.eatEol()) continue;
      if (c <= 0x20) {
        this.pos++;
        continue;
      }
      if (c === 0x2f /* / */) {
        const n = this.code(this.pos + 1);
        if (n === 0x2a /* * */) {
          // Block comment; like StreamTokenizer, an unterminated one runs to end of input.
          this.pos += 2;
          while (this.pos < this.text.length) {
            if (this.code() === 0x2a && this.code(this.pos + 1) === 0x2f) {
              this.pos += 2;
              break;
            }
            if (!this.eatEol()) this.pos++;
          }
          continue;
        }
        // `//` comment, and a lone `/` (StreamTokenizer's default comment char): skip the line.
        this.skipToEol();
        continue;
      }
      break;
    }

    const line = this.lineNo;
    const c = this.code();

    if (isWordStart(c)) {
      const start = this.pos;
      while (this.pos < this.text.length && isWordPart(this.code())) this.pos++;
      return { kind: 'word', value: this.text.slice(start, this.pos), line };
    }

    if (isDigitOrDot(c) || (c === 0x2d && isDigitOrDot(this.code(this.pos + 1)))) {
      // StreamTokenizer.parseNumbers(): a numeric token, which ConfigFile never accepts.
      const start = this.pos;
      this.pos++;
      while (this.pos < this.text.length && isDigitOrDot(this.code())) this.pos++;
      return { kind: 'number', text: this.text.slice(start, this.pos), line };
    }

    if (c === 0x22) {
      return { kind: 'quoted', value: this.readQuoted(c), line };
    }
    if (c === 0x27) {
      // StreamTokenizer also quotes with ', but ConfigFile only accepts words and "-strings.
      this.readQuoted(c);
      return { kind: 'char', value: "'", line };
    }

    this.pos++;
    return { kind: 'char', value: String.fromCharCode(c), line };
  }

  /** StreamTokenizer quoted-string rules: C escapes, octal escapes, and the string ends at end of line. */
  private readQuoted(quote: number): string {
    this.pos++; // opening quote
    let out = '';
    while (this.pos < this.text.length) {
      const c = this.code();
      if (c === quote) {
        this.pos++;
        return out;
      }
      if (c === 0x0a || c === 0x0d) return out; // unterminated: ends at EOL (newline not consumed)
      if (c !== 0x5c /* \ */) {
        out += this.text[this.pos];
        this.pos++;
        continue;
      }
      this.pos++;
      if (this.pos >= this.text.length) return out;
      const e = this.text[this.pos]!;
      const simple: Record<string, string> = { a: '\x07', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v' };
      if (e in simple) {
        out += simple[e];
        this.pos++;
      } else if (e >= '0' && e <= '7') {
        const first = e.charCodeAt(0) - 0x30;
        let value = first;
        this.pos++;
        const maxDigits = first <= 3 ? 3 : 2;
        for (let i = 1; i < maxDigits; i++) {
          const d = this.text[this.pos];
          if (d === undefined || d < '0' || d > '7') break;
          value = value * 8 + (d.charCodeAt(0) - 0x30);
          this.pos++;
        }
        out += String.fromCharCode(value);
      } else {
        if (e === '\n' || e === '\r') this.eatEol();
        else this.pos++;
        out += e;
      }
    }
    return out;
  }
}

function describe(tok: Token): string {
  switch (tok.kind) {
    case 'eof':
      return 'end of file';
    case 'word':
      return `'${tok.value}'`;
    case 'quoted':
      return `"${tok.value}"`;
    case 'number':
      return `number ${tok.text}`;
    case 'char':
      return `'${tok.value}'`;
  }
}

class Parser {
  private readonly tokens: Tokenizer;
  private look: Token;

  constructor(text: string) {
    this.tokens = new Tokenizer(text);
    this.look = this.tokens.next();
  }

  private fail(expected: string, tok: Token = this.look): never {
    throw new Error(`JAAS config line ${tok.line}: expected ${expected}, found ${describe(tok)}`);
  }

  private advance(): void {
    this.look = this.tokens.next();
  }

  private isChar(ch: string): boolean {
    return this.look.kind === 'char' && this.look.value === ch;
  }

  private expectChar(ch: string): void {
    if (!this.isChar(ch)) this.fail(`'${ch}'`);
    this.advance();
  }

  private expectString(what: string): { value: string; line: number } {
    const tok = this.look;
    if (tok.kind !== 'word' && tok.kind !== 'quoted') this.fail(what);
    this.advance();
    return { value: tok.value, line: tok.line };
  }

  parse(): Map<string, JaasModuleEntry[]> {
    const config = new Map<string, JaasModuleEntry[]>();
    while (this.look.kind !== 'eof') {
      const name = this.expectString('login configuration name');
      this.expectChar('{');
      const entries: JaasModuleEntry[] = [];
      while (!this.isChar('}')) {
        const loginModule = this.expectString('login module class name').value;
        const flag = this.expectString('control flag (required, requisite, sufficient or optional)');
        const controlFlag = flag.value.toLowerCase();
        if (
          controlFlag !== 'required' &&
          controlFlag !== 'requisite' &&
          controlFlag !== 'sufficient' &&
          controlFlag !== 'optional'
        ) {
          throw new Error(`JAAS config line ${flag.line}: invalid control flag '${flag.value}'`);
        }
        const options = new Map<string, string>();
        while (!this.isChar(';')) {
          const key = this.expectString(`option key or ';'`).value;
          this.expectChar('=');
          const value = this.expectString(`value for option '${key}'`).value;
          options.delete(key); // keep file order of the last occurrence
          options.set(key, value);
        }
        this.advance(); // ';'
        entries.push({ loginModule, controlFlag, options });
      }
      this.advance(); // '}'
      this.expectChar(';');
      if (config.has(name.value)) {
        throw new Error(`JAAS config line ${name.line}: multiple entries for '${name.value}'`);
      }
      config.set(name.value, entries);
    }
    return config;
  }
}

/**
 * Parses a whole JAAS configuration file: login context name -> module entries.
 * Throws an Error naming the line on malformed input.
 */
export function parseJaasConfig(text: string): Map<string, JaasModuleEntry[]> {
  return new Parser(text).parse();
}

/**
 * DIGEST-MD5 users of a JAAS login context, as ZooKeeper's SaslServerCallbackHandler
 * collects them: every option named `user_NAME` of every module in the section gives
 * NAME -> password (later modules override earlier ones). An empty file, or a file without
 * the section, yields an empty map. Malformed text throws an Error naming the line.
 */
export function parseJaasUsers(text: string, section: string = JAAS_DEFAULT_SERVER_SECTION): Map<string, string> {
  const users = new Map<string, string>();
  const entries = parseJaasConfig(text).get(section) ?? [];
  for (const entry of entries) {
    for (const [key, value] of entry.options) {
      if (key.startsWith(JAAS_USER_PREFIX)) users.set(key.slice(JAAS_USER_PREFIX.length), value);
    }
  }
  return users;
}
