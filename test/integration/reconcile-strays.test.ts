// An upload that reached the bucket but was never recorded (the process was killed the moment
// the object landed: reconcile-strays.fixture.ts, SIGKILL), and then the file is renamed or
// removed before the upload is retried. The object under the old name is ours and must go:
// afterwards the bucket holds the file under its new name with the right bytes, nothing under
// the old one, and no conflict was reported. Against FolderStore and Ceph RGW.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openCacheFileSystem } from '../../pkg/cache';
import { KeyMap, ObjectStoreSource, openLinkedExport } from '../../pkg/reconcile';
import type { ObjectStore } from '../../pkg/s3/object-store';
import { skipS3, useSharedRgw } from '../support/ceph-rgw';
import { readAcks } from '../support/acks';
import { ROOT, bucketKeys, exists, objectBytes, quietLog, resolve } from '../support/linked-fs';
import { linkIdOf, openStore, V1, V2, type StoreConfig, type StrayConfig } from './reconcile-strays.fixture';


/** Runs the fixture until its upload of work/a has landed, then SIGKILLs it; returns the acks. */
async function killWhenLanded(cfg: StrayConfig): Promise<string[]> {
  const child = spawn(process.execPath, [path.join(__dirname, 'reconcile-strays.fixture.js'), JSON.stringify(cfg)], { stdio: ['ignore', 'pipe', 'pipe'] });
  const acks: string[] = [];
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr = (stderr + c.toString()).slice(-20_000)));
  readAcks<{ op: string }>(child.stdout, ({ op }) => {
    acks.push(op);
    if (op === 'landed') child.kill('SIGKILL');
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  const signal = await new Promise<string | null>((r) => child.once('exit', (_code, sig) => r(sig)));
  clearTimeout(timer);
  assert.ok(acks.includes('landed'), `the upload never landed (acks ${acks.join(',')}, signal ${signal}): ${stderr}`);
  return acks;
}

/** The cache opened linked but without its reconciler: what a client does before any retry. */
async function withoutReconciler(store: ObjectStore, cfg: StrayConfig, fn: (f: Awaited<ReturnType<typeof openCacheFileSystem>>) => Promise<void>): Promise<void> {
  const source = new ObjectStoreSource(store, new KeyMap(cfg.prefix), { log: quietLog });
  const f = await openCacheFileSystem({ dir: cfg.cacheDir, logger: quietLog, link: { source, linkId: linkIdOf(cfg.prefix) } });
  try {
    await fn(f);
  } finally {
    await f.close();
  }
}

/**
 * `setup` gives a store per test (a FolderStore is held by one process at a time: the test
 * opens its own only once the fixture is dead).
 */
function straysSuite(name: string, setup: () => Promise<{ storeFor(n: number): StoreConfig; cleanup(): Promise<void> }>): void {
  describe(`reconciler: unrecorded uploads left under an old name (${name})`, function () {
    this.timeout(120_000);
    let storeFor: (n: number) => StoreConfig;
    const stores: Array<ObjectStore & { destroy?(): void }> = [];
    let tmp: string;
    let cleanup: () => Promise<void>;
    let n = 0;

    before(async () => {
      ({ storeFor, cleanup } = await setup());
      tmp = fs.mkdtempSync(path.join(os.tmpdir(), 's3files-strays-'));
    });
    after(async () => {
      for (const s of stores) s.destroy?.();
      fs.rmSync(tmp, { recursive: true, force: true });
      await cleanup?.();
    });

    const config = (scenario: StrayConfig['scenario']): StrayConfig => {
      n++;
      return { scenario, store: storeFor(n), cacheDir: path.join(tmp, `cache${n}`), prefix: `strays${n}-${Date.now().toString(36)}/` };
    };

    /** The test's own handle on the bucket (after the fixture is dead). */
    async function bucket(cfg: StrayConfig): Promise<ObjectStore> {
      const s = await openStore(cfg.store);
      stores.push(s);
      return s;
    }

    /** Restarts with the reconciler, syncs everything; the bucket must hold exactly `want`. */
    async function syncAndCheck(store: ObjectStore, cfg: StrayConfig, want: Record<string, Buffer | null>): Promise<void> {
      const ex = await openLinkedExport({ cacheDir: cfg.cacheDir, store, prefix: cfg.prefix, linkId: linkIdOf(cfg.prefix), syncDelayMs: 20, logger: quietLog });
      try {
        await ex.reconciler.drain(60_000);
        assert.equal(ex.reconciler.ctx.stats.conflicts, 0, 'a conflict was reported');
        assert.equal(await exists(ex.fs, '.s3files-lost+found'), false, 'something went to lost+found');
        for (const [p, bytes] of Object.entries(want)) if (bytes) assert.equal(Number((await ex.fs.getattr(await resolve(ex.fs, p))).size), bytes.length);
      } finally {
        await ex.close();
      }
      const keys = await bucketKeys(store, cfg.prefix);
      assert.deepEqual(Array.from(keys.keys()).sort(), ['work/', ...Object.keys(want)].sort(), 'keys in the bucket');
      for (const [p, bytes] of Object.entries(want)) if (bytes) assert.ok((await objectBytes(store, cfg.prefix + p)).equals(bytes), `bytes of ${p}`);
    }

    it('a new file whose first upload landed unrecorded, renamed before the retry', async () => {
      const cfg = config('new');
      await killWhenLanded(cfg);
      const store = await bucket(cfg);
      assert.ok((await bucketKeys(store, cfg.prefix)).has('work/a'), 'the killed upload is in the bucket');
      await withoutReconciler(store, cfg, async (f) => f.rename(ROOT, await resolve(f, 'work'), 'a', await resolve(f, 'work'), 'b').then(() => undefined));
      await syncAndCheck(store, cfg, { 'work/b': V1 });
    });

    it('a file rewritten, its new upload landed unrecorded, renamed before the retry', async () => {
      const cfg = config('edited');
      const acks = await killWhenLanded(cfg);
      const store = await bucket(cfg);
      assert.ok(acks.includes('synced'));
      await withoutReconciler(store, cfg, async (f) => f.rename(ROOT, await resolve(f, 'work'), 'a', await resolve(f, 'work'), 'b').then(() => undefined));
      await syncAndCheck(store, cfg, { 'work/b': V2 });
    });

    it('a file renamed while its upload was on the wire, killed before it was recorded', async () => {
      const cfg = config('in-flight');
      const acks = await killWhenLanded(cfg);
      const store = await bucket(cfg);
      assert.deepEqual(acks.slice(-2), ['renamed', 'landed']);
      await syncAndCheck(store, cfg, { 'work/b': V1 });
    });

    it('a new file whose upload landed unrecorded, removed before the retry', async () => {
      const cfg = config('new');
      await killWhenLanded(cfg);
      const store = await bucket(cfg);
      await withoutReconciler(store, cfg, async (f) => f.remove(ROOT, await resolve(f, 'work'), 'a').then(() => undefined));
      await syncAndCheck(store, cfg, {});
    });

    it('after a kill with no rename, the retry replaces its own object (no stray, no conflict)', async () => {
      const cfg = config('edited');
      await killWhenLanded(cfg);
      await syncAndCheck(await bucket(cfg), cfg, { 'work/a': V2 });
    });
  });
}

straysSuite('FolderStore', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 's3files-strays-folder-'));
  return { storeFor: (n) => ({ kind: 'folder', dir: path.join(dir, `s${n}`) }), cleanup: async () => fs.rmSync(dir, { recursive: true, force: true }) };
});

if (!skipS3()) {
  const rgw = useSharedRgw();
  straysSuite('S3Store on Ceph RGW', async () => {
    const gw = await rgw();
    const bucket = `strays-${Date.now().toString(36)}`;
    await gw.createBucket(bucket);
    return {
      storeFor: () => ({ kind: 's3', endpoint: gw.endpoint, bucket, region: gw.region, accessKeyId: gw.accessKeyId, secretAccessKey: gw.secretAccessKey }),
      cleanup: async () => undefined,
    };
  });
}
