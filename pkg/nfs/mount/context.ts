// What every MOUNT procedure shares.
import type { Logger } from '../../log/logger';
import type { RateLimitedLog } from '../../log/rate-limited';
import { normaliseExportPath, type ExportRegistry } from '../exports';
import type { HandleCodec } from '../handles';
import type { MountTable } from './mount-table';

export interface MountDeps {
  exports: ExportRegistry;
  handles: HandleCodec;
  logger?: Logger;
}

export interface MountContext {
  exports: ExportRegistry;
  handles: HandleCodec;
  table: MountTable;
  log: Logger;
  /**
   * For lines any client can cause (mounted, unmounted, refused): at most one a minute per
   * client and message, so a flood of MNT calls does not flood the log.
   */
  notice: RateLimitedLog;
}

/**
 * The form a client's dirpath is recorded under, so that "/data", "data/" and "//data" name one
 * mount; a path that is no valid export name is kept as sent.
 */
export function mountKey(dirpath: string): string {
  try {
    return normaliseExportPath(dirpath);
  } catch {
    return dirpath;
  }
}
