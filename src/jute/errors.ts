/** Thrown when bytes cannot be decoded as the expected Jute record (truncated, negative or oversized lengths). */
export class JuteError extends Error {
  override readonly name = 'JuteError';
}
