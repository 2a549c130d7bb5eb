// The ObjectStore contract run against both stores: FolderStore on a temporary folder, and
// S3Store against a real Ceph RADOS Gateway (TESTING.md). Without Ceph installed the RGW half
// fails with the install command, unless S3FILES_SKIP_S3=1.
import { forBothStores } from '../support/both-stores';
import { objectStoreContract } from '../support/object-store-contract';


forBothStores('contract', objectStoreContract);
