/**
 * The subject of an X.509 certificate as Java's X500Principal.getName() writes it (RFC 2253), which
 * is the id ZooKeeper's X509AuthenticationProvider gives a client: `CN=alice,OU=dev,O=Acme\, Inc.,C=US`
 * (most specific first, special characters escaped, unknown attributes as OID=#hex of their DER).
 */
import { children, expectAt, oidOf, readDer, TAG, type DerNode } from './der.js';

/** The attribute keywords RFC 2253 defines; Java prints every other type as its dotted OID. */
const RFC2253_KEYWORDS: Record<string, string> = {
  '2.5.4.3': 'CN',
  '2.5.4.6': 'C',
  '2.5.4.7': 'L',
  '2.5.4.8': 'ST',
  '2.5.4.10': 'O',
  '2.5.4.11': 'OU',
  '2.5.4.9': 'STREET',
  '0.9.2342.19200300.100.1.25': 'DC',
  '0.9.2342.19200300.100.1.1': 'UID',
};

/** String types Java's AVA prints as text in RFC 2253 form, with their decoding. */
const STRING_TAGS: Record<number, (b: Buffer) => string> = {
  0x0c: (b) => b.toString('utf8'), // UTF8String
  0x13: (b) => b.toString('latin1'), // PrintableString
  0x14: (b) => b.toString('latin1'), // TeletexString (T61)
  0x16: (b) => b.toString('latin1'), // IA5String
  0x1b: (b) => b.toString('latin1'), // GeneralString
  0x1e: (b) => Buffer.from(b).swap16().toString('utf16le'), // BMPString (UTF-16BE)
};

/** Characters Java's AVA escapes with a backslash wherever they occur. */
const ESCAPED = ',=+<>#;"\\';

/** The subject DN of a DER certificate, as X500Principal.getName(). */
export function subjectDn(certDer: Buffer): string {
  const cert = readDer(certDer);
  const tbs = expectAt(children(cert), 0, TAG.SEQUENCE, 'certificate');
  const fields = children(tbs);
  // version [0] is optional; then serialNumber, signature, issuer, validity, subject.
  const first = fields[0]?.tag === TAG.CONTEXT0 ? 1 : 0;
  return formatName(expectAt(fields, first + 4, TAG.SEQUENCE, 'certificate subject'));
}

/** RFC 2253: RDNs last to first, joined by commas; the AVAs of one RDN joined by '+'. */
export function formatName(name: DerNode): string {
  return children(name)
    .reverse()
    .map((rdn) => children(rdn).map(formatAva).join('+'))
    .join(',');
}

function formatAva(ava: DerNode): string {
  const [type, value] = children(ava);
  if (!type || !value) throw new Error('malformed attribute in a distinguished name');
  const oid = oidOf(type);
  const keyword = RFC2253_KEYWORDS[oid];
  const decode = STRING_TAGS[value.tag];
  if (keyword === undefined || decode === undefined) return `${keyword ?? oid}=#${value.raw.toString('hex')}`;
  return `${keyword}=${escapeValue(decode(value.body))}`;
}

function escapeValue(s: string): string {
  let out = '';
  for (const c of s) out += c === '\u0000' ? '\\00' : ESCAPED.includes(c) ? `\\${c}` : c;
  // Leading and trailing spaces (and CRs) are escaped too.
  const chars = [...out];
  let lead = 0;
  while (lead < chars.length && (chars[lead] === ' ' || chars[lead] === '\r')) lead++;
  let trail = chars.length - 1;
  while (trail >= 0 && (chars[trail] === ' ' || chars[trail] === '\r')) trail--;
  return chars.map((c, i) => (i < lead || i > trail ? `\\${c}` : c)).join('');
}

/**
 * Whether an ACL id is a distinguished name (X509AuthenticationProvider.isValid, which asks
 * X500Principal to parse it): attribute=value pairs separated by unescaped commas or plus signs.
 */
export function isDistinguishedName(id: string): boolean {
  // X500Principal takes "" as the empty name.
  if (id === '') return true;
  const parts: string[] = [];
  let current = '';
  for (let i = 0; i < id.length; i++) {
    const c = id[i]!;
    if (c === '\\' && i + 1 < id.length) {
      current += c + id[++i];
    } else if (c === ',' || c === '+' || c === ';') {
      parts.push(current);
      current = '';
    } else {
      current += c;
    }
  }
  parts.push(current);
  return parts.every((p) => /^\s*([A-Za-z][A-Za-z0-9-]*|\d+(\.\d+)+)\s*=/.test(p));
}
