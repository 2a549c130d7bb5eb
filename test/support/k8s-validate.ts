// Validates Kubernetes objects against the Kubernetes schemas, offline.
//
// With the kubernetes-models package installed, each object goes through its generated JSON
// schema validator (required fields, formats, enums). Without it — as now — the objects are
// checked against the models @kubernetes/client-node generates from the Kubernetes OpenAPI
// document (release-1.36): every field must exist in the schema of its type (a misspelt or
// misplaced key is an error), every value must have the schema's type (string, integer,
// boolean, array, map, nested object, IntOrString), plus the required fields and validation
// rules of the API server that these manifests can break (names, container name/image,
// selector matching template labels, volume mounts naming declared volumes, Bidirectional
// propagation only in privileged containers, enum values).
import { createRequire } from 'node:module';

type AttributeType = { baseName: string; type: string };
type ModelClass = { getAttributeTypeMap(): AttributeType[] };

const requireHere = createRequire(__filename);
// The models only: the package index pulls in an HTTP stack that needs Node 22.
const models = requireHere('@kubernetes/client-node/dist/gen/models/all.js') as Record<string, ModelClass | undefined>;

/** apiVersion/kind → client-node model name, for every kind s3files ships or documents. */
const KINDS: Record<string, string> = {
  'v1/Namespace': 'V1Namespace',
  'v1/ConfigMap': 'V1ConfigMap',
  'v1/ServiceAccount': 'V1ServiceAccount',
  'v1/PersistentVolume': 'V1PersistentVolume',
  'v1/PersistentVolumeClaim': 'V1PersistentVolumeClaim',
  'v1/Pod': 'V1Pod',
  'v1/Secret': 'V1Secret',
  'apps/v1/Deployment': 'V1Deployment',
  'apps/v1/DaemonSet': 'V1DaemonSet',
  'batch/v1/Job': 'V1Job',
  'storage.k8s.io/v1/StorageClass': 'V1StorageClass',
  'storage.k8s.io/v1/CSIDriver': 'V1CSIDriver',
  'rbac.authorization.k8s.io/v1/ClusterRole': 'V1ClusterRole',
  'rbac.authorization.k8s.io/v1/ClusterRoleBinding': 'V1ClusterRoleBinding',
  'rbac.authorization.k8s.io/v1/Role': 'V1Role',
  'rbac.authorization.k8s.io/v1/RoleBinding': 'V1RoleBinding',
  'apiextensions.k8s.io/v1/CustomResourceDefinition': 'V1CustomResourceDefinition',
};

/** Fields the API server requires, per model (beyond what the generated models encode). */
const REQUIRED: Record<string, string[]> = {
  V1Container: ['name', 'image'],
  V1Volume: ['name'],
  V1VolumeMount: ['name', 'mountPath'],
  V1EnvVar: ['name'],
  V1ContainerPort: ['containerPort'],
  V1PolicyRule: ['verbs'],
  V1Subject: ['kind', 'name'],
  V1RoleRef: ['apiGroup', 'kind', 'name'],
  V1DeploymentSpec: ['selector', 'template'],
  V1DaemonSetSpec: ['selector', 'template'],
  V1JobSpec: ['template'],
  V1PodSpec: ['containers'],
  V1StorageClass: ['provisioner'],
  V1CSIDriver: ['spec'],
  V1CustomResourceDefinitionSpec: ['group', 'names', 'scope', 'versions'],
  V1CustomResourceDefinitionVersion: ['name', 'served', 'storage'],
  V1HostPathVolumeSource: ['path'],
  V1CSIPersistentVolumeSource: ['driver', 'volumeHandle'],
};

/** Enumerated string fields, per model. */
const ENUMS: Record<string, Record<string, string[]>> = {
  V1VolumeMount: { mountPropagation: ['None', 'HostToContainer', 'Bidirectional'] },
  V1Container: { imagePullPolicy: ['Always', 'IfNotPresent', 'Never'] },
  V1HostPathVolumeSource: { type: ['', 'DirectoryOrCreate', 'Directory', 'FileOrCreate', 'File', 'Socket', 'CharDevice', 'BlockDevice'] },
  V1PodSpec: { restartPolicy: ['Always', 'OnFailure', 'Never'], dnsPolicy: ['ClusterFirst', 'ClusterFirstWithHostNet', 'Default', 'None'] },
  V1StorageClass: { reclaimPolicy: ['Delete', 'Retain'], volumeBindingMode: ['Immediate', 'WaitForFirstConsumer'] },
  V1CSIDriverSpec: { fsGroupPolicy: ['None', 'File', 'ReadWriteOnceWithFSType'] },
  V1PersistentVolumeClaimSpec: {},
  V1CustomResourceDefinitionSpec: { scope: ['Cluster', 'Namespaced'] },
};

const ACCESS_MODES = ['ReadWriteOnce', 'ReadOnlyMany', 'ReadWriteMany', 'ReadWriteOncePod'];

function checkValue(value: unknown, type: string, at: string, errors: string[]): void {
  if (value === null || value === undefined) return;
  const array = /^Array<(.+)>$/.exec(type);
  const map = /^\{ \[key: string\]: (.+); \}$/.exec(type);
  if (array) {
    if (!Array.isArray(value)) errors.push(`${at}: expected a list`);
    else value.forEach((v, i) => checkValue(v, array[1] as string, `${at}[${i}]`, errors));
  } else if (map) {
    if (typeof value !== 'object' || Array.isArray(value)) errors.push(`${at}: expected a map`);
    else for (const [k, v] of Object.entries(value)) checkValue(v, map[1] as string, `${at}.${k}`, errors);
  } else if (type === 'string' || type === 'Date') {
    if (typeof value !== 'string') errors.push(`${at}: expected a string, got ${JSON.stringify(value)}`);
  } else if (type === 'number') {
    if (typeof value !== 'number' || !Number.isInteger(value)) errors.push(`${at}: expected an integer, got ${JSON.stringify(value)}`);
  } else if (type === 'boolean') {
    if (typeof value !== 'boolean') errors.push(`${at}: expected a boolean, got ${JSON.stringify(value)}`);
  } else if (type === 'IntOrString') {
    if (typeof value !== 'string' && typeof value !== 'number') errors.push(`${at}: expected an integer or string`);
  } else if (type === 'any' || type === 'object') {
    // free-form (e.g. JSONSchemaProps.default)
  } else {
    checkModel(value, type, at, errors);
  }
}

function checkModel(value: unknown, typeName: string, at: string, errors: string[]): void {
  const model = models[typeName];
  if (!model?.getAttributeTypeMap) {
    if (typeof value !== 'string') errors.push(`${at}: expected ${typeName} (a string enum)`);
    return;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    errors.push(`${at}: expected an object (${typeName})`);
    return;
  }
  const attrs = new Map(model.getAttributeTypeMap().map((a) => [a.baseName, a.type]));
  const obj = value as Record<string, unknown>;
  for (const [key, v] of Object.entries(obj)) {
    const type = attrs.get(key);
    if (type === undefined) errors.push(`${at}.${key}: unknown field (not in ${typeName})`);
    else checkValue(v, type, `${at}.${key}`, errors);
  }
  for (const key of REQUIRED[typeName] ?? []) if (obj[key] === undefined || obj[key] === '') errors.push(`${at}.${key}: required`);
  for (const [key, allowed] of Object.entries(ENUMS[typeName] ?? {})) {
    if (obj[key] !== undefined && !allowed.includes(String(obj[key]))) errors.push(`${at}.${key}: ${JSON.stringify(obj[key])} is not one of ${allowed.join(', ')}`);
  }
  if (typeName === 'V1PodSpec') checkPodSpec(obj, at, errors);
  if (typeName === 'V1PersistentVolumeClaimSpec' || typeName === 'V1PersistentVolumeSpec') {
    for (const m of (obj.accessModes as string[] | undefined) ?? []) if (!ACCESS_MODES.includes(m)) errors.push(`${at}.accessModes: ${m} is not an access mode`);
  }
}

/** API-server rules on pods that a chart can break. */
function checkPodSpec(spec: Record<string, unknown>, at: string, errors: string[]): void {
  const volumes = new Set(((spec.volumes as { name: string }[] | undefined) ?? []).map((v) => v.name));
  const names = new Set<string>();
  for (const c of (spec.containers as Record<string, unknown>[] | undefined) ?? []) {
    const name = String(c.name);
    if (names.has(name)) errors.push(`${at}.containers: duplicate container name ${name}`);
    names.add(name);
    const privileged = (c.securityContext as { privileged?: boolean } | undefined)?.privileged === true;
    for (const m of (c.volumeMounts as { name: string; mountPropagation?: string }[] | undefined) ?? []) {
      if (!volumes.has(m.name)) errors.push(`${at}.containers[${name}].volumeMounts: ${m.name} is not a volume of the pod`);
      if (m.mountPropagation === 'Bidirectional' && !privileged) errors.push(`${at}.containers[${name}]: Bidirectional mount propagation needs a privileged container`);
    }
  }
}

function checkObjectRules(obj: Record<string, unknown>, errors: string[]): void {
  const meta = (obj.metadata ?? {}) as Record<string, unknown>;
  const name = String(meta.name ?? '');
  if (!name) errors.push('metadata.name: required');
  else if (!/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(name) || name.length > 253) errors.push(`metadata.name: ${name} is not a DNS subdomain`);
  const spec = obj.spec as Record<string, unknown> | undefined;
  if ((obj.kind === 'Deployment' || obj.kind === 'DaemonSet') && spec) {
    const selector = ((spec.selector as { matchLabels?: Record<string, string> } | undefined)?.matchLabels ?? {}) as Record<string, string>;
    const labels = ((spec.template as { metadata?: { labels?: Record<string, string> } })?.metadata?.labels ?? {}) as Record<string, string>;
    for (const [k, v] of Object.entries(selector)) if (labels[k] !== v) errors.push(`spec.selector: ${k}=${v} does not match the pod template labels`);
  }
  if (obj.kind === 'CustomResourceDefinition' && spec) {
    const names = spec.names as { plural?: string } | undefined;
    if (name !== `${names?.plural}.${spec.group}`) errors.push(`metadata.name must be <plural>.<group>`);
    const storage = ((spec.versions as { storage?: boolean }[] | undefined) ?? []).filter((v) => v.storage);
    if (storage.length !== 1) errors.push('spec.versions: exactly one version must be the storage version');
  }
}

/** kubernetes-models' validator for the object, when that package is installed. */
function modelsPackageValidator(obj: Record<string, unknown>): (() => void) | undefined {
  const [group, version] = String(obj.apiVersion).includes('/') ? String(obj.apiVersion).split('/') : ['', String(obj.apiVersion)];
  const mod = group ? `kubernetes-models/${group}/${version}/${String(obj.kind)}` : `kubernetes-models/${version}/${String(obj.kind)}`;
  try {
    const exported = requireHere(mod) as Record<string, new (o: unknown) => { validate(): void }>;
    const Model = exported[String(obj.kind)];
    return Model ? () => new Model(obj).validate() : undefined;
  } catch {
    return undefined;
  }
}

export function kubernetesModelsInstalled(): boolean {
  try {
    requireHere.resolve('kubernetes-models/package.json');
    return true;
  } catch {
    return false;
  }
}

/** Validation errors of one object ([] when valid). */
export function validateObject(obj: Record<string, unknown>): string[] {
  const key = `${String(obj.apiVersion)}/${String(obj.kind)}`;
  const typeName = KINDS[key];
  if (!typeName) return [`${key}: not a kind this validator knows`];
  const errors: string[] = [];
  checkModel(obj, typeName, String(obj.kind), errors);
  checkObjectRules(obj, errors);
  const strict = modelsPackageValidator(obj);
  if (strict) {
    try {
      strict();
    } catch (err) {
      errors.push(`kubernetes-models: ${(err as Error).message}`);
    }
  }
  return errors;
}
