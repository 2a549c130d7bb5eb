// Time for the cache file system: nanosecond timestamps from an injectable clock, and the
// relatime rule that keeps reads from turning into metadata writes.
import type { Timestamp } from '../../vfs';

export type Clock = () => Timestamp;

const NS_PER_SEC = 1_000_000_000n;
const DAY_SEC = 24 * 60 * 60;

/**
 * The system clock with nanosecond resolution: wall time anchored once, then advanced with the
 * monotonic high-resolution timer so that two calls never go backwards within one process.
 */
export function systemClock(): Clock {
  const base = BigInt(Date.now()) * 1_000_000n - process.hrtime.bigint();
  let last = 0n;
  return () => {
    let ns = process.hrtime.bigint() + base;
    if (ns <= last) ns = last + 1n;
    last = ns;
    return { sec: Number(ns / NS_PER_SEC), nsec: Number(ns % NS_PER_SEC) };
  };
}

export function compareTime(a: Timestamp, b: Timestamp): number {
  return a.sec !== b.sec ? a.sec - b.sec : a.nsec - b.nsec;
}

export function sameTime(a: Timestamp, b: Timestamp): boolean {
  return a.sec === b.sec && a.nsec === b.nsec;
}

/**
 * Linux relatime: atime is updated only if it is not newer than mtime or ctime, or if it is
 * at least a day old. Reads of a file that is not being modified then write metadata at most
 * once a day.
 */
export function relatimeDue(atime: Timestamp, mtime: Timestamp, ctime: Timestamp, now: Timestamp): boolean {
  if (compareTime(atime, mtime) <= 0 || compareTime(atime, ctime) <= 0) return true;
  return now.sec - atime.sec >= DAY_SEC;
}

export function validTimestamp(t: Timestamp): boolean {
  return Number.isSafeInteger(t.sec) && Number.isInteger(t.nsec) && t.nsec >= 0 && t.nsec < 1_000_000_000;
}
