// Import rules, as Amazon S3 Files has them: which files' data is imported from the bucket
// ahead of any read, and when. A rule covers the keys under `prefix` (relative to the export;
// '' for all, else ending in '/'; the longest matching prefix wins) and the files strictly
// smaller than `sizeLessThan` bytes there:
//   - 'directory' (ON_DIRECTORY_FIRST_ACCESS): when their directory's listing first shows
//     them, they are fetched whole in the background, one GET each (which brings their
//     attributes too: no HEAD);
//   - 'file' (ON_FILE_ACCESS): nothing ahead of time, not even its metadata; its first LOOKUP
//     fetches it whole (one GET, which also gives the attributes), and a READDIRPLUS that shows
//     it first reads its metadata alone (a HEAD).
// Larger files, and files no rule covers, are read in blocks on demand (fetcher.ts, streamer.ts).
import { parseByteSize } from '../../config/byte-size';
export type ImportTrigger = 'directory' | 'file';

export interface ImportRule {
  prefix: string;
  sizeLessThan: number;
  trigger: ImportTrigger;
}

const TRIGGERS: Record<string, ImportTrigger> = {
  directory: 'directory',
  on_directory_first_access: 'directory',
  file: 'file',
  on_file_access: 'file',
};

/** The rule for `rkey` (a file's key relative to the export), or undefined. */
export function ruleFor(rules: readonly ImportRule[], rkey: string): ImportRule | undefined {
  let best: ImportRule | undefined;
  for (const r of rules) if (rkey.startsWith(r.prefix) && (!best || r.prefix.length > best.prefix.length)) best = r;
  return best;
}

/** Checks rules given in options; throws RangeError naming the bad one. */
export function checkImportRules(rules: readonly ImportRule[]): ImportRule[] {
  const seen = new Set<string>();
  for (const r of rules) {
    if (r.prefix !== '' && !r.prefix.endsWith('/')) throw new RangeError(`import rule prefix ${JSON.stringify(r.prefix)} must be empty or end with '/'`);
    if (r.prefix.startsWith('/')) throw new RangeError(`import rule prefix ${JSON.stringify(r.prefix)} must not start with '/'`);
    if (!Number.isSafeInteger(r.sizeLessThan) || r.sizeLessThan < 0) throw new RangeError(`import rule size ${r.sizeLessThan} must be a whole number of bytes >= 0`);
    if (r.trigger !== 'directory' && r.trigger !== 'file') throw new RangeError(`import rule trigger ${JSON.stringify(r.trigger)} must be 'directory' or 'file'`);
    if (seen.has(r.prefix)) throw new RangeError(`two import rules for prefix ${JSON.stringify(r.prefix)}`);
    seen.add(r.prefix);
  }
  return [...rules];
}

/**
 * Parses "PREFIX:SIZE:TRIGGER[,PREFIX:SIZE:TRIGGER…]" (e.g. ":128K:directory,logs/:0:file";
 * SIZE in bytes or with K/M/G (powers of 1024); TRIGGER directory | file, or S3 Files'
 * ON_DIRECTORY_FIRST_ACCESS | ON_FILE_ACCESS). The prefix is everything before the last two ':'.
 */
export function parseImportRules(text: string, what = 'import rules'): ImportRule[] {
  const rules: ImportRule[] = [];
  for (const part of text.split(',').map((p) => p.trim()).filter(Boolean)) {
    const fields = part.split(':');
    if (fields.length < 3) throw new RangeError(`${what}: ${JSON.stringify(part)} is not PREFIX:SIZE:TRIGGER`);
    const trigger = TRIGGERS[fields.pop()!.trim().toLowerCase()];
    const size = parseByteSize(fields.pop()!.trim());
    const prefix = fields.join(':');
    if (!trigger) throw new RangeError(`${what}: ${JSON.stringify(part)}: the trigger must be directory or file`);
    if (size === undefined) throw new RangeError(`${what}: ${JSON.stringify(part)}: the size must be bytes, or a number with K, M or G`);
    rules.push({ prefix, sizeLessThan: size, trigger });
  }
  try {
    return checkImportRules(rules);
  } catch (err) {
    throw new RangeError(`${what}: ${(err as Error).message}`);
  }
}
