// The reconciler suite (test/support/reconcile-suite.ts) against both object stores: FolderStore
// in a temporary folder, and S3Store on a real Ceph RADOS Gateway (TESTING.md; one gateway for
// the whole run, S3FILES_SKIP_S3=1 skips it).
import { forBothStores } from '../support/both-stores';
import { reconcileSuite } from '../support/reconcile-suite';


forBothStores('reconcile', reconcileSuite);
