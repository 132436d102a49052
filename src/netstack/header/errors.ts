/** A malformed or truncated header. Parsers throw only this; the stack counts it as a malformed drop. */
export class HeaderError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'HeaderError';
  }
}
