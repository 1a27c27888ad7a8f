/**
 * Four-letter words on the client port. A connection whose first four bytes spell one of these
 * (read as a big-endian int, they are far larger than any valid frame length) gets a text answer.
 */
export const FOUR_LETTER_WORDS = [
  'ruok', 'srvr', 'stat', 'mntr', 'conf', 'cons', 'crst', 'srst', 'envi', 'wchs', 'wchc', 'wchp', 'dump', 'isro', 'dirs',
  'gtmk', 'stmk',
] as const;

export const FOUR_LETTER_CODES: ReadonlyMap<number, string> = new Map(
  FOUR_LETTER_WORDS.map((w) => [Buffer.from(w, 'latin1').readInt32BE(0), w]),
);

/** The version kazoo and monitoring tools parse: zkts implements the 3.8 protocol. */
export const ZOOKEEPER_VERSION = '3.8.0-zkts';
export const ZOOKEEPER_VERSION_LINE = `${ZOOKEEPER_VERSION}, built on 2026-11-25 00:00 UTC`;
