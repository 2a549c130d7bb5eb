// How far each volume's data on this node is from S3, as the node plugin publishes it
// (S3FileSystem status, kube/status-reporter.ts). The S3 link (pkg/reconcile, through
// NfsVolumeExports) supplies the numbers; nothing here knows about Kubernetes.

export interface VolumeSyncStatus {
  volumeId: string;
  /** Bytes written on this node that are not in S3 yet. */
  dirtyBytes: number;
  /** When this node last had everything of the volume in S3; undefined if never. */
  lastSync?: Date;
  /** Why the latest sync attempt failed; undefined while syncing works. */
  error?: string;
  /**
   * Files whose object changed in the bucket while they were changed on this node, since the
   * volume was opened by this process: the bucket's version won in place and the node's
   * version was moved to .s3files-lost+found/ (DESIGN.md decision 5). A rise is an Event.
   */
  conflicts?: number;
  /** Where other nodes notify this one of their writes to the volume (docs/freshness.md). */
  notifyUrl?: string;
  /**
   * Files and directories kept on this node only because their key would pass S3's 1,024 bytes
   * (PathTooLong), until renamed to a shorter path. Durable: it survives a restart. A rise is
   * an Event.
   */
  unsyncable?: number;
}

export interface SyncStatusSource {
  /** Every volume this node holds data of: staged, or unstaged with dirty data kept on disk. */
  syncStatus(): Promise<VolumeSyncStatus[]>;
}
