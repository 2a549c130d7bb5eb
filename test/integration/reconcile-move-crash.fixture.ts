// Child process for reconcile-move-crash.test.ts: a linked export renames the directory `src`
// (objects put into the bucket by the test) to `dst`, and its store signals the moment the move
// reaches the chosen point, then hangs there until the test kills the process (SIGKILL):
//   copying   after `copies` server-side copies landed;
//   deleting  the copies are recorded (the LMDB transaction of the move) and the first batch
//             of deletions of the old keys is about to be sent.
//   node reconcile-move-crash.fixture.js CONFIG_JSON
import { openLinkedExport } from '../../pkg/reconcile';
import type { ObjectStore } from '../../pkg/s3/object-store';
import { S3Store } from '../../pkg/s3/s3-store';
import type { Credentials } from '../../pkg/vfs';
import { ack } from '../support/acks';

export interface MoveCrashConfig {
  at: 'copying' | 'deleting';
  copies: number;
  endpoint: string;
  bucket: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  cacheDir: string;
  prefix: string;
}

export const linkIdOf = (prefix: string): string => `move-crash-test:${prefix}`;
const root: Credentials = { uid: 0, gid: 0, gids: [] };
const hang = () => new Promise<never>(() => undefined);

async function main(): Promise<void> {
  const cfg = JSON.parse(process.argv[2]!) as MoveCrashConfig;
  const inner = new S3Store({
    bucket: cfg.bucket, endpoint: cfg.endpoint, region: cfg.region, forcePathStyle: true,
    credentials: { accessKeyId: cfg.accessKeyId, secretAccessKey: cfg.secretAccessKey },
  });
  await inner.detectCapabilities();
  let copies = 0;
  const store = new Proxy(inner, {
    get(target, prop, receiver) {
      if (prop === 'copy') {
        return async (...a: Parameters<ObjectStore['copy']>) => {
          const r = await target.copy(...a);
          if (cfg.at === 'copying' && ++copies === cfg.copies) {
            ack({ op: 'copying', copies });
            return hang();
          }
          return r;
        };
      }
      if (prop === 'deleteMany' && cfg.at === 'deleting') {
        return async (keys: string[]) => {
          if (keys.length === 0) return [];
          ack({ op: 'deleting', keys: keys.length });
          return hang();
        };
      }
      const value = Reflect.get(target, prop, receiver) as unknown;
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
  const ex = await openLinkedExport({ cacheDir: cfg.cacheDir, store, prefix: cfg.prefix, linkId: linkIdOf(cfg.prefix), syncDelayMs: 20 });
  const fs = ex.fs;
  await fs.lookup(root, fs.rootIno, 'src');
  await fs.rename(root, fs.rootIno, 'src', fs.rootIno, 'dst');
  ack({ op: 'renamed' });
  setInterval(() => undefined, 1000); // the reconciler's timers are unref'd: wait for the kill
}

if (require.main === module) {
  main().catch((err) => {
    process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  });
}
