// Per-file block maps of a linked cache: which blocks of the remote-backed range are present in
// the local data file, and which blocks were changed since the last upload (those the upload
// must send; the others it may copy server-side). Kept in memory while in use and written to
// LMDB together with the inode record (core.persist), so a durable record never has older maps.
import type { BlockMapRecord } from '../meta/remote-state';
import type { MetadataStore } from '../meta/metadata-store';
import type { Mutation } from '../meta/mutation';

class Bits {
  constructor(public buf: Buffer) {}

  get(i: number): boolean {
    const byte = i >> 3;
    return byte < this.buf.length && (this.buf[byte]! & (1 << (i & 7))) !== 0;
  }

  set(i: number): void {
    const byte = i >> 3;
    if (byte >= this.buf.length) {
      const grown = Buffer.alloc(Math.max(byte + 1, this.buf.length * 2));
      this.buf.copy(grown);
      this.buf = grown;
    }
    this.buf[byte]! |= 1 << (i & 7);
  }

  /** Clears every bit from `i` on. */
  clearFrom(i: number): void {
    const byte = i >> 3;
    if (byte >= this.buf.length) return;
    this.buf[byte]! &= (1 << (i & 7)) - 1;
    this.buf.fill(0, byte + 1);
  }

  any(from: number, to: number): boolean {
    for (let i = from; i < to; i++) if (this.get(i)) return true;
    return false;
  }

  /** The bitmap without trailing zero bytes (what is stored). */
  compact(): Buffer {
    let end = this.buf.length;
    while (end > 0 && this.buf[end - 1] === 0) end--;
    return Buffer.from(this.buf.subarray(0, end));
  }
}

export class BlockMap {
  readonly present: Bits;
  readonly dirty: Bits;
  dirtyFrom: number;

  constructor(rec?: BlockMapRecord) {
    this.present = new Bits(Buffer.from(rec?.present ?? Buffer.alloc(0)));
    this.dirty = new Bits(Buffer.from(rec?.dirty ?? Buffer.alloc(0)));
    this.dirtyFrom = rec?.dirtyFrom ?? Infinity;
  }

  isDirty(block: number): boolean {
    return block >= this.dirtyFrom || this.dirty.get(block);
  }

  anyDirty(from: number, to: number): boolean {
    return to > this.dirtyFrom || this.dirty.any(from, to);
  }

  record(): BlockMapRecord {
    const rec: BlockMapRecord = { present: this.present.compact(), dirty: this.dirty.compact() };
    if (this.dirtyFrom !== Infinity) rec.dirtyFrom = this.dirtyFrom;
    return rec;
  }
}

export class BlockMaps {
  private readonly maps = new Map<number, BlockMap>();
  /** Maps changed since they were last written to LMDB. */
  private readonly changed = new Set<number>();

  constructor(
    private readonly store: MetadataStore,
    readonly blockSize: number,
  ) {}

  get(ino: number): BlockMap {
    let map = this.maps.get(ino);
    if (!map) {
      map = new BlockMap(this.store.blocks.get(ino));
      this.maps.set(ino, map);
    }
    return map;
  }

  blockOf(offset: number): number {
    return Math.floor(offset / this.blockSize);
  }

  isPresent(ino: number, block: number): boolean {
    return this.get(ino).present.get(block);
  }

  markPresent(ino: number, first: number, last: number): void {
    const map = this.get(ino);
    for (let b = first; b <= last; b++) map.present.set(b);
    this.changed.add(ino);
  }

  /** Blocks overlapping [offset, offset + length) were changed by a write. */
  markWritten(ino: number, offset: number, length: number): void {
    if (length <= 0) return;
    const map = this.get(ino);
    const last = this.blockOf(offset + length - 1);
    for (let b = this.blockOf(offset); b <= last; b++) map.dirty.set(b);
    this.changed.add(ino);
  }

  /** The file was cut to `size`: presence past it is void, and what follows counts as changed. */
  truncated(ino: number, size: number): void {
    const map = this.get(ino);
    const from = this.blockOf(size);
    map.present.clearFrom(Math.ceil(size / this.blockSize));
    map.dirtyFrom = Math.min(map.dirtyFrom, from);
    this.changed.add(ino);
  }

  /** Nothing present locally any more (evicted, or the remote object changed). */
  dropPresence(ino: number): void {
    const map = this.get(ino);
    map.present.clearFrom(0);
    this.changed.add(ino);
  }

  /** After an upload that covered every change: nothing is dirty. */
  clearDirty(ino: number): void {
    const map = this.get(ino);
    map.dirty.clearFrom(0);
    map.dirtyFrom = Infinity;
    this.changed.add(ino);
  }

  isChanged(ino: number): boolean {
    return this.changed.has(ino);
  }

  changedInodes(): number[] {
    return Array.from(this.changed);
  }

  /** In a transaction: writes the map of `ino` if it changed (or removes it if the inode is gone). */
  saveInTxn(m: Mutation, ino: number): void {
    if (!this.changed.has(ino)) return;
    const map = this.maps.get(ino);
    if (map && m.find(ino)) m.store.blocks.putSync(ino, map.record());
    this.changed.delete(ino);
  }

  forget(ino: number): void {
    this.maps.delete(ino);
    this.changed.delete(ino);
  }

  /** Drops maps that are saved and not needed in memory (bounded memory with many files). */
  prune(keep: (ino: number) => boolean): void {
    for (const ino of this.maps.keys()) if (!this.changed.has(ino) && !keep(ino)) this.maps.delete(ino);
  }
}
