// basePrefix patterns: `volumes/${.PVC.namespace}/${.PVC.name}` names a volume's prefix after
// its claim, so that a bucket's prefixes say whose data they hold (as EFS CSI's
// subPathPattern). csi-provisioner's --extra-create-metadata (set by the chart) adds the
// claim's namespace and name, and the PV's name, to CreateVolume's parameters.
import { invalidArgument } from './errors';

/** CreateVolume parameters csi-provisioner adds with --extra-create-metadata. */
export const ExtraMetadata = {
  pvcName: 'csi.storage.k8s.io/pvc/name',
  pvcNamespace: 'csi.storage.k8s.io/pvc/namespace',
  pvName: 'csi.storage.k8s.io/pv/name',
} as const;

const VARIABLES: Record<string, string> = {
  '.PVC.name': ExtraMetadata.pvcName,
  '.PVC.namespace': ExtraMetadata.pvcNamespace,
  '.PV.name': ExtraMetadata.pvName,
};

/** Variables that tell one volume from another: with one of them the pattern is the whole prefix. */
const NAMES_THE_VOLUME = new Set(['.PVC.name', '.PV.name']);

// What Kubernetes allows in these names (DNS-1123 subdomains). A value outside it did not come
// from Kubernetes; refusing it keeps a value from reaching another place in the bucket ("..").
const KUBE_NAME = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;

export interface ExpandedPattern {
  /** The base prefix with every variable replaced (not yet normalised: parsePrefix does that). */
  prefix: string;
  /** True when the pattern names the claim or PV: the volume name is not appended. */
  namesVolume: boolean;
}

/**
 * Replaces ${.PVC.namespace}, ${.PVC.name} and ${.PV.name} in `pattern` with the values
 * CreateVolume received in `params`. INVALID_ARGUMENT for an unknown or unterminated
 * variable, a missing value (csi-provisioner without --extra-create-metadata) or a value that
 * is not a Kubernetes name.
 */
export function expandBasePrefix(pattern: string, params: Record<string, string>, key: string): ExpandedPattern {
  let namesVolume = false;
  let prefix = '';
  let rest = pattern;
  for (;;) {
    const start = rest.indexOf('${');
    if (start < 0) break;
    const end = rest.indexOf('}', start);
    if (end < 0) throw invalidArgument(`${key} ${JSON.stringify(pattern)}: unterminated \${`);
    const variable = rest.slice(start + 2, end);
    const param = VARIABLES[variable];
    if (!param) {
      throw invalidArgument(`${key} ${JSON.stringify(pattern)}: unknown variable \${${variable}} (known: ${Object.keys(VARIABLES).map((v) => `\${${v}}`).join(', ')})`);
    }
    const value = params[param];
    if (value === undefined || value === '') {
      throw invalidArgument(`${key} uses \${${variable}} but CreateVolume has no ${param} parameter (csi-provisioner needs --extra-create-metadata)`);
    }
    if (!KUBE_NAME.test(value) || value.includes('..')) throw invalidArgument(`${param} ${JSON.stringify(value)} is not a Kubernetes name`);
    if (NAMES_THE_VOLUME.has(variable)) namesVolume = true;
    prefix += rest.slice(0, start) + value;
    rest = rest.slice(end + 1);
  }
  return { prefix: prefix + rest, namesVolume };
}
