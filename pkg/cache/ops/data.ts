// READ, WRITE and COMMIT (RFC 1813 3.3.6, 3.3.7, 3.3.21).
//
// Stability: an 'unstable' WRITE lands in the data file (page cache) and updates the file's
// attributes in memory only. 'data-sync' and 'file-sync' fdatasync the data file and persist the
// attributes before returning, and answer 'file-sync' (every attribute is in LMDB, so the
// stronger promise is the honest one). COMMIT does the same for all earlier writes.
//
// Crash rule (see core/recovery.ts): every file's durable dirty mark is set before an unstable write
// first changes its data file after a commit, so a crash at any point is noticed on restart.
// A stable write to a file whose mark is durable (new files are created marked) needs only the
// fdatasync: recovery takes a marked file's size from its data file, so the attributes may
// reach LMDB with the next periodic flush. That keeps one LMDB commit (~0.6-0.9 ms, two fsyncs)
// off every O_DIRECT write and every small file written at close; after a power cut such a
// file keeps every acknowledged byte and gets the recovery time as its mtime.
import { FsError, fromSystemError, isFsError, type Credentials, type ReadResult, type Stability, type Wcc, type WriteResult } from '../../vfs';
import type { FsCore } from '../core/core';
import { killSuid, toAttributes, toWccAttributes, type InodeRecord } from '../meta/inode';
import { isRoot, requireReadData, requireWriteData } from './permissions';
import { POOLED_READ_MIN, type Lease } from '../data/read-buffers';
import { INLINE_MAX_BYTES } from '../util/inline-sync';

const BLOCK = 4096;
const roundUp = (n: number): number => Math.ceil(n / BLOCK) * BLOCK;
const roundDown = (n: number): number => Math.floor(n / BLOCK) * BLOCK;

function requireRegular(rec: InodeRecord): void {
  if (rec.type === 'dir') throw new FsError('EISDIR', `inode ${rec.ino} is a directory`);
  if (rec.type !== 'file') throw new FsError('EINVAL', `inode ${rec.ino} is not a regular file`);
}

function checkRange(core: FsCore, offset: number, length: number): void {
  if (!Number.isSafeInteger(offset) || offset < 0) throw new FsError('EINVAL', `bad offset ${offset}`);
  if (offset + length > core.maxFileSize) throw new FsError('EFBIG', `offset ${offset} + ${length} exceeds the maximum file size`);
}

export async function read(core: FsCore, cred: Credentials, ino: number, offset: number, count: number): Promise<ReadResult> {
  const rec0 = core.record(ino);
  requireRegular(rec0);
  requireReadData(cred, rec0);
  if (!Number.isSafeInteger(offset) || offset < 0) throw new FsError('EINVAL', `bad offset ${offset}`);
  // The shared lock keeps a truncate out while we read, so no bytes past EOF come back.
  return core.states.get(ino).lock.shared(async () => {
    const rec = core.record(ino);
    const n = Math.max(0, Math.min(count, rec.size - offset));
    let data: Buffer = Buffer.alloc(0);
    let lease: Lease | undefined;
    const streamed = n > 0 && core.link ? await streamRead(core, ino, offset, n) : undefined;
    if (streamed) data = streamed;
    else if (n > 0) {
      // Linked: blocks not present locally are fetched first (or, on a full cache disk, read through).
      const through = core.link ? await fetchForRead(core, ino, offset, n) : false;
      // A pooled buffer only where the bytes go straight back to the caller (read-through
      // hands them on to the fetcher).
      const pool = core.data.readBuffers;
      lease = !through && n >= POOLED_READ_MIN && n <= pool.size ? pool.lend(n) : undefined;
      try {
        data = await core.data.read(ino, offset, n, lease?.data);
      } catch (err) {
        lease?.release();
        throw fromSystemError(err, `reading inode ${ino}`);
      }
      // Past the data file's end (a file extended by SETATTR) the file reads as zeros.
      if (data.length < n) {
        data = Buffer.concat([data, Buffer.alloc(n - data.length)]);
        lease?.release();
        lease = undefined;
      }
      if (through) data = await core.link!.fetcher.readThrough(ino, offset, data);
    }
    core.touchAtime(ino);
    return { data, eof: offset + n >= rec.size, attributes: core.attributes(ino), release: lease?.release };
  });
}

/** Linked: a steadily sequential reader of uncached data is served by a stream (streamer.ts). */
async function streamRead(core: FsCore, ino: number, offset: number, n: number): Promise<Buffer | undefined> {
  const link = core.link!;
  link.fetcher.track(ino, offset, n);
  link.evictor.touch(ino);
  if (!link.streamer.wants(ino, offset, n)) return undefined;
  const data = await link.streamer.read(ino, offset, n);
  return data?.length === n ? data : undefined;
}

/**
 * Makes the blocks of [offset, offset + n) present and starts read-ahead for a sequential
 * reader. Returns true if the cache disk is full and the read must go through to the bucket.
 */
async function fetchForRead(core: FsCore, ino: number, offset: number, n: number): Promise<boolean> {
  const link = core.link!;
  // A stream reads ahead by itself: block read-ahead would fetch the same bytes twice.
  if (!link.streamer.active(ino) && !link.streamer.eligible(ino, offset)) link.fetcher.readAhead(ino, offset, n);
  try {
    await link.fetcher.ensure(ino, offset, offset + n);
    return false;
  } catch (err) {
    if (!isFsError(err, 'ENOSPC') && !isFsError(err, 'EDQUOT')) throw err;
    return true;
  }
}

/** Bytes a write may add to the file's allocation (an upper bound for the capacity check). */
function growthBound(rec: InodeRecord, offset: number, length: number): { bytes: number; sparseInterior: boolean } {
  const end = offset + length;
  const allocatedEnd = roundUp(rec.size);
  let bytes = end > allocatedEnd ? roundUp(end) - Math.max(allocatedEnd, roundDown(offset)) : 0;
  // A write inside a sparse file may fill holes; how much is known only after the write.
  const sparseInterior = offset < rec.size && rec.used < allocatedEnd;
  if (sparseInterior) bytes += Math.min(roundUp(Math.min(end, rec.size)) - roundDown(offset), allocatedEnd - rec.used);
  return { bytes, sparseInterior };
}

export async function write(
  core: FsCore,
  cred: Credentials,
  ino: number,
  offset: number,
  data: Buffer,
  stability: Stability,
): Promise<WriteResult> {
  const rec0 = core.record(ino);
  requireRegular(rec0);
  requireWriteData(cred, rec0);
  checkRange(core, offset, data.length);
  const st = core.states.get(ino);
  return st.lock.shared(async () => {
    const rec = core.record(ino);
    const before = toWccAttributes(rec);
    st.lastWrite = performance.now();
    if (data.length === 0) return { count: 0, committed: stability === 'unstable' ? 'unstable' : 'file-sync', file: { before, after: toAttributes(rec) } };
    const growth = growthBound(rec, offset, data.length);
    const release = core.capacity.reserve(growth.bytes);
    st.writesStarted++;
    st.inflight++;
    /** The mark this stable write relies on, if the file had one (see the header). */
    let durableMark: Promise<void> | undefined;
    try {
      await core.capacity.admitOnDisk(growth.bytes, ino);
      // A stable write takes no dirty mark first: it is acknowledged only once its data is
      // durable and either the file was already marked (see the header) or its attributes and
      // the mark are committed with it (syncFile); a crash before that leaves the client with no
      // reply, and it sends the write again.
      if (core.link) {
        // Remote-backed blocks this write covers only in part are fetched first.
        await core.link.fetcher.prepareWrite(ino, offset, offset + data.length);
        core.link.blocks.markWritten(ino, offset, data.length);
        core.link.evictor.touch(ino);
      }
      if (stability === 'unstable') await core.ensureDirtyMark(ino, st);
      else if (st.marking) {
        const mark = st.marking;
        // If the mark failed, this write persists its attributes itself.
        if (await mark.then(() => true, () => false)) durableMark = mark;
      }
      await core.data.write(ino, offset, data, stability !== 'unstable');
    } catch (err) {
      st.inflight--;
      release();
      await undoPartialWrite(core, ino, st.inflight);
      throw fromSystemError(err, `writing inode ${ino}`);
    }
    st.inflight--;
    release();
    // Size and times change in the same turn the data landed, so the data file is never seen
    // longer than the file (data-store.ts trims such files when it opens them).
    const modeBefore = core.record(ino).mode;
    const after = applyWrite(core, cred, ino, offset, data.length);
    if (growth.sparseInterior) {
      // Filling holes: only the disk knows how much got allocated.
      const used = await core.data.allocated(ino).catch(() => undefined);
      if (used !== undefined) core.inodes.update(ino, (r) => (r.used = used));
    }
    core.emit(ino, 'data');
    let committed: Stability = 'unstable';
    if (stability !== 'unstable' && after.mode === modeBefore && durableMark !== undefined && st.marking === durableMark && stillQueued(core, ino)) {
      // The mark cannot have been dropped since: a flush drops it only once no write is in
      // flight and the data file needs no sync, and then it saves these attributes with it.
      await syncData(core, ino, data.length <= INLINE_MAX_BYTES);
      committed = 'file-sync';
    } else if (stability !== 'unstable' || after.mode !== modeBefore) {
      // A stable write, or one that cleared set-id bits (a metadata change, durable now).
      await syncFile(core, ino, stability !== 'unstable');
      if (stability !== 'unstable') {
        // Marked from now on (the mark went into that commit): the file's next stable writes,
        // e.g. a run of O_DIRECT writes, are a bare fdatasync until a flush finds it quiet.
        st.marking ??= Promise.resolve();
        committed = 'file-sync';
      }
    }
    return { count: data.length, committed, file: { before, after: core.attributes(ino) } };
  });
}

/**
 * Linked: whether the file is still in the persistent upload queue. If an upload emptied it
 * since, the stable write takes the committing path, whose commit queues the file again.
 */
function stillQueued(core: FsCore, ino: number): boolean {
  return core.link === undefined || core.store.pending.get(ino) !== undefined;
}

/**
 * A write that failed half-way (ENOSPC) may have extended the data file past the file's size;
 * cut it back so those bytes never show up in a later hole. Only when no other write is in
 * flight: theirs may have landed past the size without being counted yet.
 */
async function undoPartialWrite(core: FsCore, ino: number, othersInFlight: number): Promise<void> {
  const rec = core.inodes.get(ino);
  if (!rec || othersInFlight > 0) return;
  await core.data.truncate(ino, rec.size).catch((err: unknown) => core.log.warn('could not cut back a failed write', { ino, err: String(err) }));
}

/** Updates size, times, allocation and versions in memory after the data has landed. */
function applyWrite(core: FsCore, cred: Credentials, ino: number, offset: number, length: number): InodeRecord {
  const now = core.now();
  const after = core.inodes.update(ino, (r) => {
    const end = offset + length;
    if (end > roundUp(r.size)) r.used += roundUp(end) - Math.max(roundUp(r.size), roundDown(offset));
    if (end > r.size) r.size = end;
    r.mtime = now;
    r.ctime = now;
    r.dataVersion++;
    if (!isRoot(cred) && r.mode & 0o6000) {
      const mode = killSuid(r.mode);
      if (mode !== r.mode) {
        r.mode = mode;
        r.metaVersion++;
      }
    }
  });
  if (!after) throw new FsError('ESTALE', `inode ${ino} was removed during the write`);
  return after;
}

/** fdatasync of the file's data file, its failure as an FsError. */
function syncData(core: FsCore, ino: number, afterSmallWrite = false): Promise<void> {
  return core.data.sync(ino, afterSmallWrite).catch((err: unknown) => {
    throw fromSystemError(err, `syncing inode ${ino}`);
  });
}

/**
 * fdatasync (if `data`) and persist the file's attributes, both at once (with `data`, the
 * file's dirty mark goes into the same commit): the reply waits for both, and if we crash in
 * between the client has no reply and resends the write (after a restart the marked file's
 * size is the larger of the recorded one and its data file's, core/recovery.ts).
 */
async function syncFile(core: FsCore, ino: number, data: boolean): Promise<void> {
  const dataSynced = data ? syncData(core, ino) : Promise.resolve();
  const persisted = core.persist([ino], data ? () => core.putDirtyMark(ino) : undefined);
  const [synced, committed] = await Promise.allSettled([dataSynced, persisted]);
  if (synced.status === 'rejected') throw synced.reason;
  if (committed.status === 'rejected') throw committed.reason;
}

export async function commit(core: FsCore, ino: number): Promise<Wcc> {
  const rec = core.record(ino);
  const before = toWccAttributes(rec);
  if (rec.type !== 'file') return { before, after: toAttributes(rec) };
  const st = core.states.get(ino);
  // Writes already in flight are not acknowledged yet, so COMMIT need not wait for them; but
  // the dirty mark may be dropped only if none were and none started meanwhile.
  const startedBefore = st.writesStarted;
  const quiet = st.inflight === 0;
  try {
    await core.data.sync(ino);
  } catch (err) {
    throw fromSystemError(err, `committing inode ${ino}`);
  }
  if (core.inodes.isDirty(ino) || st.marking) {
    await core.persist([ino], (m) => {
      if (quiet && st.writesStarted === startedBefore) core.clearMarkIfSynced(m, ino);
    });
  }
  return { before, after: core.attributes(ino) };
}
