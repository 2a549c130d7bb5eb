// CSI Identity service: who the plugin is, what it offers, and whether it is ready.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { GetPluginCapabilitiesResponse } from './generated/csi/v1/GetPluginCapabilitiesResponse';
import type { GetPluginInfoResponse } from './generated/csi/v1/GetPluginInfoResponse';
import type { ProbeResponse } from './generated/csi/v1/ProbeResponse';

/** The driver name: CSIDriver object, StorageClass provisioner and PV spec.csi.driver. */
export const DRIVER_NAME = 's3files.csi.io';

/** package.json's version, from the source tree or the build. */
export function driverVersion(): string {
  for (const rel of ['../../package.json', '../../../package.json']) {
    const p = path.resolve(__dirname, rel);
    if (existsSync(p)) return (JSON.parse(readFileSync(p, 'utf8')) as { version: string }).version;
  }
  return '0.0.0';
}

export interface IdentityOptions {
  name?: string;
  version?: string;
  /**
   * Whether the plugin can serve its Controller or Node calls now. The node plugin reports
   * not ready until its NFS server listens and its cache is open; Probe then answers
   * ready=false (not an error: the spec reserves errors for an unhealthy plugin).
   */
  ready: () => boolean | Promise<boolean>;
}

export class IdentityServer {
  private readonly name: string;
  private readonly version: string;

  constructor(private readonly options: IdentityOptions) {
    this.name = options.name ?? DRIVER_NAME;
    this.version = options.version ?? driverVersion();
  }

  async GetPluginInfo(): Promise<GetPluginInfoResponse> {
    return { name: this.name, vendor_version: this.version };
  }

  /** A controller service exists; volumes are reachable from every node (S3), so no topology. */
  async GetPluginCapabilities(): Promise<GetPluginCapabilitiesResponse> {
    return { capabilities: [{ service: { type: 'CONTROLLER_SERVICE' } }] };
  }

  async Probe(): Promise<ProbeResponse> {
    return { ready: { value: await this.options.ready() } };
  }
}
