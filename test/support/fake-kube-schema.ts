// What the Kubernetes API server does with a custom resource against its CRD's structural
// schema, reduced to what FakeKubeApiServer needs: drop fields the schema does not declare
// (pruning, which the real server does silently), and refuse wrong types, missing required
// fields and values outside an enum (422). The schema is read from the chart's CRD, so a field
// the code writes but the CRD lacks is lost here exactly as it would be in a cluster.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import yaml from 'js-yaml';
import { REPO_ROOT } from './s3files-server';

export interface Schema {
  type?: string;
  properties?: Record<string, Schema>;
  additionalProperties?: Schema | boolean;
  items?: Schema;
  required?: string[];
  enum?: unknown[];
  minimum?: number;
  'x-kubernetes-preserve-unknown-fields'?: boolean;
}

/** The openAPIV3Schema of the storage version of charts/s3files/crds/<file>. */
export function crdSchema(file = 's3filesystems.yaml'): Schema {
  const crd = yaml.load(readFileSync(path.join(REPO_ROOT, 'charts', 's3files', 'crds', file), 'utf8')) as {
    spec: { versions: Array<{ storage: boolean; schema: { openAPIV3Schema: Schema } }> };
  };
  const version = crd.spec.versions.find((v) => v.storage);
  if (!version) throw new Error(`${file} has no storage version`);
  return version.schema.openAPIV3Schema;
}

const TYPE_OK: Record<string, (v: unknown) => boolean> = {
  object: (v) => v !== null && typeof v === 'object' && !Array.isArray(v),
  array: (v) => Array.isArray(v),
  string: (v) => typeof v === 'string',
  integer: (v) => Number.isInteger(v),
  number: (v) => typeof v === 'number',
  boolean: (v) => typeof v === 'boolean',
};

/** Returns the pruned value; pushes a message for every violation into `errors`. */
export function pruneAndValidate(value: unknown, schema: Schema, at: string, errors: string[]): unknown {
  if (schema.type && !TYPE_OK[schema.type]?.(value)) {
    errors.push(`${at}: expected ${schema.type}`);
    return value;
  }
  if (schema.enum && !schema.enum.includes(value)) errors.push(`${at}: ${JSON.stringify(value)} not in ${JSON.stringify(schema.enum)}`);
  if (schema.minimum !== undefined && typeof value === 'number' && value < schema.minimum) errors.push(`${at}: below ${schema.minimum}`);
  if (Array.isArray(value)) return schema.items ? value.map((v, i) => pruneAndValidate(v, schema.items as Schema, `${at}[${i}]`, errors)) : value;
  if (value === null || typeof value !== 'object') return value;
  const obj = value as Record<string, unknown>;
  for (const r of schema.required ?? []) if (obj[r] === undefined) errors.push(`${at}.${r}: required`);
  if (schema['x-kubernetes-preserve-unknown-fields']) return obj;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) {
    const sub = schema.properties?.[k] ?? (typeof schema.additionalProperties === 'object' ? schema.additionalProperties : undefined);
    if (sub) out[k] = pruneAndValidate(v, sub, `${at}.${k}`, errors);
    else if (schema.additionalProperties === true) out[k] = v;
    // else: pruned, as the API server does with fields the schema does not declare
  }
  return out;
}
