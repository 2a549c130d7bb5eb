// Child process for reconcile-strays.test.ts: a linked export whose upload of `work/a` reaches
// the bucket and is then never recorded, because the process is killed (SIGKILL, by the test)
// the moment the object has landed. Prints "ack {json}" lines; the test kills on "landed".
//   node reconcile-strays.fixture.js CONFIG_JSON
// Scenarios:
//   new       a new file's first upload lands;
//   edited    a file already in the bucket is rewritten, and its new upload lands;
//   in-flight the file is renamed to work/b while its upload to work/a is on the wire.
import { openLinkedExport } from '../../pkg/reconcile';
import { FolderStore } from '../../pkg/s3/folder-store';
import type { ObjectStore, PutOptions } from '../../pkg/s3/object-store';
import { S3Store } from '../../pkg/s3/s3-store';
import type { Credentials } from '../../pkg/vfs';
import { ack } from '../support/acks';
import { withPut } from '../support/put-hook';

export type StoreConfig =
  | { kind: 'folder'; dir: string }
  | { kind: 's3'; endpoint: string; bucket: string; region: string; accessKeyId: string; secretAccessKey: string };

export interface StrayConfig {
  scenario: 'new' | 'edited' | 'in-flight';
  store: StoreConfig;
  cacheDir: string;
  prefix: string;
}

export const V1 = Buffer.from('first version of a\n'.repeat(100));
export const V2 = Buffer.from('second version, longer than the first\n'.repeat(300));
export const linkIdOf = (prefix: string): string => `strays-test:${prefix}`;

const root: Credentials = { uid: 0, gid: 0, gids: [] };

export async function openStore(c: StoreConfig): Promise<ObjectStore & { destroy?(): void }> {
  if (c.kind === 'folder') return FolderStore.open(c.dir);
  const s = new S3Store({
    bucket: c.bucket, endpoint: c.endpoint, region: c.region, forcePathStyle: true,
    credentials: { accessKeyId: c.accessKeyId, secretAccessKey: c.secretAccessKey },
  });
  await s.detectCapabilities();
  return s;
}

async function main(): Promise<void> {
  const cfg = JSON.parse(process.argv[2]!) as StrayConfig;
  const inner = await openStore(cfg.store);
  const target = `${cfg.prefix}work/a`;
  let armed = false;
  let beforeLanding: () => Promise<void> = async () => undefined;
  // The real store, except that an armed PUT of work/a lands and then never answers.
  const store = withPut(inner, async (key: string, body: Buffer, opts?: PutOptions) => {
    if (!armed || key !== target) return inner.put(key, body, opts);
    await beforeLanding();
    const r = await inner.put(key, body, opts);
    ack({ op: 'landed', etag: r.etag });
    return new Promise(() => undefined);
  });
  const ex = await openLinkedExport({ cacheDir: cfg.cacheDir, store, prefix: cfg.prefix, linkId: linkIdOf(cfg.prefix), syncDelayMs: 20 });
  const fs = ex.fs;
  const work = await fs.mkdir(root, fs.rootIno, 'work', { mode: 0o755 });
  const a = await fs.create(root, work.ino, 'a', { kind: 'guarded', attributes: { mode: 0o644 } });
  if (cfg.scenario === 'edited') {
    await fs.write(root, a.ino, 0, V1, 'file-sync');
    await ex.reconciler.drain();
    ack({ op: 'synced' });
  }
  if (cfg.scenario === 'in-flight') {
    beforeLanding = async () => {
      await fs.rename(root, work.ino, 'a', work.ino, 'b');
      ack({ op: 'renamed' });
    };
  }
  armed = true;
  await fs.write(root, a.ino, 0, cfg.scenario === 'edited' ? V2 : V1, 'file-sync');
  ack({ op: 'written' });
  setInterval(() => undefined, 1000); // the reconciler's timers are unref'd: wait for the kill
}

if (require.main === module) {
  main().catch((err) => {
    process.stderr.write(`strays fixture failed: ${String(err)}\n`);
    process.exit(2);
  });
}
