// Errors of the ONC RPC transport. Malformed procedure arguments are XdrError (pkg/nfs/xdr);
// these are the failures after which a TCP connection cannot be trusted and is closed.

/** The byte stream cannot be framed into records any more (RFC 5531 §11). */
export class RecordError extends Error {
  constructor(
    readonly reason: 'too-large' | 'too-many-fragments',
    message: string,
  ) {
    super(message);
    this.name = 'RecordError';
  }
}
