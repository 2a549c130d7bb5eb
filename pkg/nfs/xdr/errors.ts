/** Thrown when XDR input is malformed: truncated, over a declared limit, or not a valid value. */
export class XdrError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'XdrError';
  }
}
