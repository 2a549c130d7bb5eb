// What the parts of the linked part (fetcher, importer, streamer, evictor, remote-attrs) see of
// the link and of each other. link-context.ts builds the parts and implements this; the parts
// import only this file, so that none of them imports link-context.ts (which imports them).
import type { RemoteState } from '../meta/remote-state';
import type { BlockMaps } from './block-maps';
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
  readonly blockSize: number;
  readonly readAheadBytes: number;
  readonly prefetchBytes: number;
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
    prefetch(inos: number[]): void;
    firstRead(ino: number): boolean;
    sequentialFor(ino: number, blocks: number): boolean;
  };
  readonly importer: {
    ensureListed(dirIno: number, mode?: 'ttl' | 'once'): Promise<void>;
    markStale(ino: number): Promise<void>;
  };
  readonly evictor: {
    touch(ino: number): void;
    relieve(): Promise<void>;
  };
  readonly attrs: {
    queue(inos: number[]): void;
  };
}
