// What the parts of the linked part (fetcher, importer, streamer, evictor, remote-attrs) see of
// the link and of each other. link-context.ts builds the parts and implements this; the parts
// import only this file, so that none of them imports link-context.ts (which imports them).
import type { RemoteState } from '../meta/remote-state';
import type { BlockMaps } from './block-maps';
import type { ImportRule } from './import-rules';
import type { RemoteSource, VolumeDefaults } from './remote';

/** An upload of one inode in flight: the smallest size the file had meanwhile, and its end. */
export interface UploadWatch {
  /** The key it writes to. */
  key?: string;
  minSize: number;
  done: Promise<void>;
  finish(): void;
}

export interface LinkView {
  readonly source: RemoteSource;
  readonly dirTtlMs: number;
  readonly remoteWaitMs: number;
  readonly blockSize: number;
  readonly readAheadBytes: number;
  readonly importRules: readonly ImportRule[];
  readonly importConcurrency: number;
  readonly importMemoryBytes: number;
  readonly cacheSizeBytes: number;
  readonly defaults: VolumeDefaults;
  readonly nowMs: () => number;
  readonly blocks: BlockMaps;
  /** Uploads in flight, by inode. */
  readonly uploads: ReadonlyMap<number, UploadWatch>;
  remoteOf(ino: number): RemoteState | undefined;
  readonly fetcher: {
    /** Runs [first, last] of blocks in [offset, end) not present locally. */
    absentRuns(ino: number, offset: number, end: number): Array<[number, number]>;
    /** Fetches all of a file's blocks with `read` (one whole GET); undefined if some are present or in flight. */
    fetchWhole(ino: number, rs: RemoteState, read: () => Promise<Buffer>): Promise<void> | undefined;
    firstRead(ino: number): boolean;
    sequentialFor(ino: number, blocks: number): boolean;
  };
  readonly importer: {
    ensureListed(dirIno: number, mode?: 'ttl' | 'fresh' | 'once'): Promise<void>;
    markStale(ino: number): Promise<void>;
    /** Starts the first listing of `dirIno` in the background (nothing if listed or listing). */
    listAhead(dirIno: number): void;
  };
  readonly evictor: {
    touch(ino: number): void;
    relieve(): Promise<void>;
  };
  readonly imports: {
    queue(inos: number[]): void;
    prefetch(inos: number[]): void;
    triggerFor(rkey: string, size: number): 'directory' | 'file' | undefined;
  };
}
