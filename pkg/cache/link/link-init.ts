// First open of a cache directory linked to a bucket: record what it is linked to, give the root
// its key (""), and queue every existing inode for upload (a local cache being linked). A cache
// directory linked to one bucket/prefix refuses to open linked to another.
import { randomBytes } from 'node:crypto';
import { FsError } from '../../vfs';
import { ROOT_INO } from '../meta/inode';
import type { MetadataStore } from '../meta/metadata-store';

export async function initLink(store: MetadataStore, linkId: string): Promise<void> {
  const current = store.settings.get('linkId');
  if (current === linkId) {
    if (store.settings.get('cacheId') === undefined) await store.transact(() => store.settings.putSync('cacheId', randomBytes(8).toString('hex')));
    return;
  }
  if (current !== undefined) throw new FsError('EIO', `cache directory is linked to ${current}, not ${linkId}`);
  await store.transact(() => {
    const root = store.inodes.get(ROOT_INO)!;
    store.settings.putSync('linkId', linkId);
    // Marks this cache's uploads (sync-api.ts uploadToken).
    store.settings.putSync('cacheId', randomBytes(8).toString('hex'));
    store.remote.putSync(ROOT_INO, { key: '', backLen: 0, syncedData: root.dataVersion, syncedMeta: root.metaVersion, syncedAt: 0 });
    store.rkeys.putSync('', ROOT_INO);
    for (const ino of store.inodes.getKeys({})) if (ino !== ROOT_INO) store.pending.putSync(ino, 1);
  });
}
