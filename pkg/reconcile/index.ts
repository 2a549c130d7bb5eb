// pkg/reconcile: moving state between a linked cache file system (pkg/cache) and a bucket
// (pkg/s3): lazy import through ObjectStoreSource, write-back through Reconciler.
export { KeyMap, nameProblem } from './key-map';
export { decodeMetadata, encodeMetadata, METADATA_STYLES, parseMetadataStyle, parseMode, parseTime, type MetadataStyle } from './object-meta';
export { ObjectStoreSource } from './object-source';
export { Reconciler, type ReconcilerOptions, type ReconcilerStatus } from './reconciler';
export { openLinkedExport, type LinkedExport, type LinkedExportOptions } from './link';
