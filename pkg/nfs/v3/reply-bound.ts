// How large a reply can get, read from a call's undecoded arguments, so that the RPC server can
// reserve reply memory before the call runs (pkg/nfs/rpc/reply-budget.ts). Only READ and the
// directory listings have large replies; they are bounded by the count the client asks for,
// capped by what this server ever answers.
import { DIRLIST_MAX_BYTES } from './dirlist';
import { NFS_V3, Proc, READ_MAX } from './constants';

/** Post-op attributes, status, count, eof, the opaque's length: more than a READ adds. */
const HEADER_ROOM = 256;

export function nfs3ReplyBytesBound(version: number, procedure: number, args: Buffer): number | undefined {
  if (version !== NFS_V3 || args.length < 4) return undefined;
  const fhLength = args.readUInt32BE(0);
  if (fhLength > 64) return undefined; // not a handle: the call fails with a small reply
  const afterHandle = 4 + fhLength + ((4 - (fhLength % 4)) % 4);
  const at = (offset: number): number | undefined => (afterHandle + offset + 4 <= args.length ? args.readUInt32BE(afterHandle + offset) : undefined);
  switch (procedure) {
    case Proc.READ: {
      const count = at(8); // offset3 (8 bytes), then count3
      return count === undefined ? undefined : Math.min(count, READ_MAX) + HEADER_ROOM;
    }
    case Proc.READDIR: {
      const count = at(16); // cookie3, cookieverf3, then count3
      return count === undefined ? undefined : Math.min(count, DIRLIST_MAX_BYTES) + HEADER_ROOM;
    }
    case Proc.READDIRPLUS: {
      const maxcount = at(20); // cookie3, cookieverf3, dircount, then maxcount
      return maxcount === undefined ? undefined : Math.min(maxcount, DIRLIST_MAX_BYTES) + HEADER_ROOM;
    }
    default:
      return undefined;
  }
}
