// What every NFSv3 procedure needs besides its own arguments: handle resolution, the caller's
// credentials, file name rules, the read-only check, and a declaration of how its failure
// body is encoded (go-nfs's errorFmt). Procedures live in procs/, one per file.
import { isUtf8 } from 'node:buffer';
import type { Logger } from '../../log/logger';
import type { Attributes, Created, Credentials, FileSystem } from '../../vfs';
import { isFsError } from '../../vfs';
import { effectiveCredentials, type Export, type ExportRegistry } from '../exports';
import type { RpcCallContext } from '../rpc/program';
import type { XdrReader, XdrWriter } from '../xdr';
import { NAME_MAX_BYTES, NFS3_FHSIZE, Nfsstat3 } from './constants';
import type { HandleCache } from './handle-cache';
import { NfsStatusError } from './status';
import { writePostOpAttr, writePostOpFh3, writeWccData } from './types';

export interface NfsDeps {
  exports: ExportRegistry;
  /** The HandleCodec behind a cache of its recent answers. */
  handles: HandleCache;
  /** 8 bytes, different after every server start: WRITE and COMMIT return it. */
  writeVerifier: Buffer;
  logger: Logger;
}

/** A file handle that named a live object: its export, inode and current attributes. */
export interface Resolved {
  exp: Export;
  fs: FileSystem;
  ino: number;
  attrs: Attributes;
}

/**
 * How a procedure's resfail arm is encoded after the status (RFC 1813 section 3):
 * - void: GETATTR.
 * - post_op_attr: attributes of `first` as resolved (read-only procedures change nothing).
 * - wcc_data: `first`'s weak cache consistency data.
 * - wcc_data×2: RENAME's fromdir_wcc (`first`) and todir_wcc (`second`).
 * - post_op_attr+wcc_data: LINK's file_attributes (`first`) and linkdir_wcc (`second`).
 *
 * On failure a wcc_data carries no pre-op attributes: the FileSystem reports none for a failed
 * call, and attributes read before it are not atomic with it — a client seeing "before"
 * equal to its cache would take a concurrent change as ours and keep stale data. The post-op
 * attributes are read again after the failure.
 */
export type ErrorFormat = 'void' | 'post_op_attr' | 'wcc_data' | 'wcc_data×2' | 'post_op_attr+wcc_data';

/** What a procedure has resolved so far, for its failure body. */
export interface FailState {
  first?: Resolved;
  second?: Resolved;
}

export interface NfsProcedure {
  readonly proc: number;
  readonly name: string;
  readonly errorFormat: ErrorFormat;
  /**
   * Decodes all arguments first (XdrError → GARBAGE_ARGS), then does the work and encodes
   * NFS3_OK and the resok arm. Failures are thrown (NfsStatusError or FsError) before anything
   * is written; the runner encodes the status and the failure body.
   */
  run(call: NfsCall, fail: FailState): Promise<void>;
}

/** Whether a name argument may be "." or "..", and what to answer when it may not. */
export type NamePurpose = 'lookup' | 'create' | 'remove';

const AUTH_SYS = 1;
const DOT = 0x2e;
const SLASH = 0x2f;

export class NfsCall {
  constructor(
    readonly deps: NfsDeps,
    readonly args: XdrReader,
    readonly reply: XdrWriter,
    readonly ctx: RpcCallContext,
  ) {}

  /** nfs_fh3: opaque<NFS3_FHSIZE>; a longer one is malformed XDR (GARBAGE_ARGS). */
  readHandle(): Buffer {
    return this.args.opaque(NFS3_FHSIZE);
  }

  /**
   * filename3 as raw bytes. Its length is checked later by checkName, so that a long name
   * answers NFS3ERR_NAMETOOLONG rather than GARBAGE_ARGS; the reader still refuses lengths
   * beyond the record.
   */
  readName(): Buffer {
    return this.args.opaque(0xffff_ffff);
  }

  /**
   * Handle → live object: not one of ours (bad MAC, wrong length or version) → BADHANDLE;
   * export gone → STALE; inode gone or re-used (generation differs) → STALE.
   */
  async resolve(fh: Buffer): Promise<Resolved> {
    const h = this.deps.handles.decode(fh);
    if (h === undefined) throw new NfsStatusError(Nfsstat3.BADHANDLE);
    const exp = this.deps.exports.byId(h.exportId);
    if (exp === undefined) throw new NfsStatusError(Nfsstat3.STALE);
    try {
      const attrs = await exp.fs.getattr(h.ino, h.generation);
      return { exp, fs: exp.fs, ino: h.ino, attrs };
    } catch (err) {
      // A handle naming an inode that no longer exists is stale, whatever word the FS uses.
      if (isFsError(err, 'ENOENT')) throw new NfsStatusError(Nfsstat3.STALE, err);
      throw err;
    }
  }

  /** AUTH_SYS identity, or the export's anonymous one for AUTH_NONE; then squashing. */
  credentials(exp: Export): Credentials {
    const sys = this.ctx.flavor === AUTH_SYS ? this.ctx.authSys : undefined;
    const cred: Credentials =
      sys !== undefined
        ? { uid: sys.uid, gid: sys.gid, gids: sys.gids }
        : { uid: exp.options.anonUid, gid: exp.options.anonGid, gids: [] };
    return effectiveCredentials(cred, exp.options);
  }

  /** Mutating procedures on a read-only export answer NFS3ERR_ROFS. */
  assertWritable(exp: Export): void {
    if (exp.options.readOnly) throw new NfsStatusError(Nfsstat3.ROFS);
  }

  handleFor(exp: Export, ino: number, generation: number): Buffer {
    return this.deps.handles.encode(exp.id, ino, generation);
  }

  /** Writes NFS3_OK; the procedure then writes its resok arm. */
  ok(): XdrWriter {
    return this.reply.uint32(Nfsstat3.OK);
  }

  /**
   * The resok arm shared by CREATE, MKDIR, SYMLINK and MKNOD:
   * post_op_fh3 obj; post_op_attr obj_attributes; wcc_data dir_wcc.
   */
  writeCreated(dir: Resolved, created: Created): void {
    const w = this.ok();
    writePostOpFh3(w, this.handleFor(dir.exp, created.ino, created.attributes.generation));
    writePostOpAttr(w, created.attributes, dir.exp.id);
    writeWccData(w, created.dir, dir.exp.id);
  }
}

/**
 * Applies RFC 1813 section 3.2 ("General comments on filenames") and returns the name:
 * - empty → NFS3ERR_ACCES (item 1);
 * - longer than 255 bytes → NFS3ERR_NAMETOOLONG (item 4; PATHCONF says no_trunc);
 * - '/' or NUL, or not UTF-8 → NFS3ERR_ACCES (item 5: characters the server cannot handle;
 *   S3 keys are UTF-8, so a name that is not could never be stored faithfully). Linux knfsd
 *   rejects '/' and NUL while decoding, i.e. GARBAGE_ARGS, which clients report as EIO; the
 *   RFC's status is the more useful answer.
 * - "." and ".." are for LOOKUP only (item 2 and 3); creating one → NFS3ERR_EXIST (it exists,
 *   as mkdir(2) says), removing or renaming one → NFS3ERR_INVAL (RENAME's IMPLEMENTATION
 *   section, and rmdir(2) of ".").
 */
export function checkName(raw: Buffer, purpose: NamePurpose): string {
  if (raw.length === 0) throw new NfsStatusError(Nfsstat3.ACCES);
  if (raw.length > NAME_MAX_BYTES) throw new NfsStatusError(Nfsstat3.NAMETOOLONG);
  if (raw.indexOf(SLASH) !== -1 || raw.indexOf(0) !== -1 || !isUtf8(raw)) throw new NfsStatusError(Nfsstat3.ACCES);
  if (purpose !== 'lookup' && isDotName(raw)) {
    throw new NfsStatusError(purpose === 'create' ? Nfsstat3.EXIST : Nfsstat3.INVAL);
  }
  return raw.toString('utf8');
}

function isDotName(raw: Buffer): boolean {
  return raw[0] === DOT && (raw.length === 1 || (raw.length === 2 && raw[1] === DOT));
}

/** RENAME and LINK cannot span exports (each is its own file system to the client). */
export function assertSameExport(a: Resolved, b: Resolved): void {
  if (a.exp !== b.exp) throw new NfsStatusError(Nfsstat3.XDEV);
}
