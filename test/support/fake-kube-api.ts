// FakeKubeApiServer: a FAKE at the Kubernetes API boundary. No API server can be installed on
// these machines (TESTING.md), so the code that talks to Kubernetes through
// @kubernetes/client-node is tested against this small HTTP server, which implements only the
// REST endpoints s3files uses, with the API server's rules that matter to it:
//
//   GET    /apis/s3files.csi.io/v1alpha1/s3filesystems[?labelSelector=k=v,...]   list
//   GET    /apis/s3files.csi.io/v1alpha1/s3filesystems/NAME                      get
//   POST   /apis/s3files.csi.io/v1alpha1/s3filesystems                           create (409 AlreadyExists)
//   DELETE /apis/s3files.csi.io/v1alpha1/s3filesystems/NAME                      delete
//   PATCH  /apis/s3files.csi.io/v1alpha1/s3filesystems/NAME/status               merge patch of the status
//                                     subresource; 409 Conflict on a stale metadata.resourceVersion
//   POST   /api/v1/namespaces/NS/events                                          create
//
// Bearer-token auth (401 otherwise), resourceVersion on every write, the status subresource
// (create ignores status; a status patch changes nothing else), pruning and validation against
// the chart's CRD schema (fake-kube-schema.ts). Every request is logged with its RBAC verb and
// resource, so tests can compare what the code calls with what the chart's RBAC grants.
// Anything else answers 404 and is logged as unexpected.
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as k8s from '@kubernetes/client-node';
import { crdSchema, pruneAndValidate, type Schema } from './fake-kube-schema';

export interface LoggedRequest {
  method: string;
  path: string;
  /** RBAC view of the request: e.g. { group: 's3files.csi.io', resource: 's3filesystems/status', verb: 'patch' }. */
  group: string;
  resource: string;
  verb: string;
  status: number;
}

type Obj = Record<string, unknown> & { metadata: Record<string, unknown> };
type Reply = { status: number; body: unknown };

const CR_PREFIX = '/apis/s3files.csi.io/v1alpha1/s3filesystems';
const EVENTS_RE = /^\/api\/v1\/namespaces\/([a-z0-9-]+)\/events$/;

function statusBody(code: number, reason: string, message: string): Reply {
  return { status: code, body: { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', reason, message, code } };
}

/** RFC 7386 JSON merge patch. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) return patch;
  const out: Record<string, unknown> = target !== null && typeof target === 'object' && !Array.isArray(target) ? { ...(target as object) } : {};
  for (const [k, v] of Object.entries(patch as Record<string, unknown>)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

export class FakeKubeApiServer {
  readonly objects = new Map<string, Obj>();
  readonly events: Obj[] = [];
  readonly requests: LoggedRequest[] = [];
  /** Answer the next matching requests with this status instead (e.g. 503, 403). */
  readonly faults: Array<{ method?: string; pathIncludes?: string; status: number; times: number }> = [];
  /** Called before a status patch is applied: a test can change the object under the client. */
  beforeStatusPatch?: (name: string) => void;
  url = '';
  private resourceVersion = 1000;
  private readonly server = http.createServer((req, res) => this.handle(req, res));
  private readonly schema: Schema = crdSchema();

  constructor(readonly token = 'fake-token') {}

  static async start(token?: string): Promise<FakeKubeApiServer> {
    const fake = new FakeKubeApiServer(token);
    await new Promise<void>((resolve) => fake.server.listen(0, '127.0.0.1', resolve));
    fake.url = `http://127.0.0.1:${(fake.server.address() as AddressInfo).port}`;
    return fake;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** A KubeConfig for client-node pointing at this server with the given token. */
  kubeConfig(token = this.token): k8s.KubeConfig {
    const kc = new k8s.KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'fake', server: this.url, skipTLSVerify: true }],
      users: [{ name: 'fake', token }],
      contexts: [{ name: 'fake', cluster: 'fake', user: 'fake' }],
      currentContext: 'fake',
    });
    return kc;
  }

  /** Puts an object in the store as if someone else had created it. */
  seed(obj: Obj): Obj {
    const stored = this.stamp(obj);
    this.objects.set(stored.metadata.name as string, stored);
    return stored;
  }

  /** Distinct "verb group/resource" pairs the clients used, sorted (unexpected requests included). */
  usedPermissions(): string[] {
    return [...new Set(this.requests.map((r) => `${r.verb} ${r.group}/${r.resource}`))].sort();
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    let raw = '';
    req.on('data', (d: Buffer) => (raw += d.toString()));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://fake');
      const entry: LoggedRequest = { method: req.method ?? '', path: url.pathname, ...rbacOf(req.method ?? '', url.pathname), status: 0 };
      let reply: Reply;
      const fault = this.faults.find((f) => f.times > 0 && (!f.method || f.method === req.method) && (!f.pathIncludes || url.pathname.includes(f.pathIncludes)));
      if (req.headers.authorization !== `Bearer ${this.token}`) reply = statusBody(401, 'Unauthorized', 'Unauthorized');
      else if (fault) {
        fault.times -= 1;
        reply = statusBody(fault.status, 'InjectedFault', `injected ${fault.status}`);
      } else {
        try {
          reply = this.route(req.method ?? '', url, raw, req.headers['content-type'] ?? '');
        } catch (err) {
          reply = statusBody(400, 'BadRequest', (err as Error).message);
        }
      }
      entry.status = reply.status;
      this.requests.push(entry);
      res.writeHead(reply.status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(reply.body));
    });
  }

  private route(method: string, url: URL, raw: string, contentType: string): Reply {
    const events = EVENTS_RE.exec(url.pathname);
    if (events && method === 'POST') return this.createEvent(events[1] as string, JSON.parse(raw) as Obj);
    if (!url.pathname.startsWith(CR_PREFIX)) return statusBody(404, 'NotFound', `unexpected path ${url.pathname}`);
    const [name, sub, ...rest] = url.pathname.slice(CR_PREFIX.length).split('/').filter(Boolean);
    if (rest.length > 0 || (sub !== undefined && sub !== 'status')) return statusBody(404, 'NotFound', `unexpected path ${url.pathname}`);
    if (!name && method === 'GET') return this.list(url.searchParams.get('labelSelector') ?? '');
    if (!name && method === 'POST') return this.create(JSON.parse(raw) as Obj);
    if (name && !sub && method === 'GET') return this.get(name);
    if (name && !sub && method === 'DELETE') return this.remove(name);
    if (name && sub === 'status' && method === 'PATCH') {
      if (contentType !== 'application/merge-patch+json') return statusBody(415, 'UnsupportedMediaType', `the fake takes merge patches only, got ${contentType}`);
      return this.patchStatus(name, JSON.parse(raw) as Obj);
    }
    return statusBody(405, 'MethodNotAllowed', `${method} ${url.pathname} is not implemented by the fake`);
  }

  private get(name: string): Reply {
    const obj = this.objects.get(name);
    return obj ? { status: 200, body: obj } : statusBody(404, 'NotFound', `s3filesystems.s3files.csi.io "${name}" not found`);
  }

  private list(selector: string): Reply {
    const wanted = selector.split(',').filter(Boolean).map((s) => s.split('=') as [string, string]);
    const items = [...this.objects.values()].filter((o) => wanted.every(([k, v]) => (o.metadata.labels as Record<string, string> | undefined)?.[k] === v));
    return { status: 200, body: { apiVersion: 's3files.csi.io/v1alpha1', kind: 'S3FileSystemList', metadata: { resourceVersion: String(this.resourceVersion) }, items } };
  }

  private create(obj: Obj): Reply {
    const name = obj.metadata?.name;
    if (obj.apiVersion !== 's3files.csi.io/v1alpha1' || obj.kind !== 'S3FileSystem') return statusBody(400, 'BadRequest', 'wrong apiVersion or kind');
    if (typeof name !== 'string' || !/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(name) || name.length > 253) return statusBody(422, 'Invalid', `invalid name ${JSON.stringify(name)}`);
    if (this.objects.has(name)) return statusBody(409, 'AlreadyExists', `s3filesystems.s3files.csi.io "${name}" already exists`);
    const errors: string[] = [];
    const spec = pruneAndValidate(obj.spec, this.schema.properties?.spec as Schema, 'spec', errors);
    if (errors.length) return statusBody(422, 'Invalid', errors.join('; '));
    // The status subresource is enabled: a create ignores any status in the body.
    const stored = this.stamp({ apiVersion: obj.apiVersion, kind: obj.kind, metadata: { name, labels: obj.metadata.labels }, spec });
    this.objects.set(name, stored);
    return { status: 201, body: stored };
  }

  private remove(name: string): Reply {
    const obj = this.objects.get(name);
    if (!obj) return statusBody(404, 'NotFound', `s3filesystems.s3files.csi.io "${name}" not found`);
    this.objects.delete(name);
    return { status: 200, body: obj };
  }

  private patchStatus(name: string, patch: Obj): Reply {
    this.beforeStatusPatch?.(name);
    const obj = this.objects.get(name);
    if (!obj) return statusBody(404, 'NotFound', `s3filesystems.s3files.csi.io "${name}" not found`);
    const wantVersion = patch.metadata?.resourceVersion;
    if (wantVersion !== undefined && wantVersion !== obj.metadata.resourceVersion) {
      return statusBody(409, 'Conflict', `Operation cannot be fulfilled on s3filesystems.s3files.csi.io "${name}": the object has been modified`);
    }
    const errors: string[] = [];
    const status = pruneAndValidate(mergePatch(obj.status ?? {}, patch.status ?? {}), this.schema.properties?.status as Schema, 'status', errors);
    if (errors.length) return statusBody(422, 'Invalid', errors.join('; '));
    const stored = this.stamp({ ...obj, status });
    this.objects.set(name, stored);
    return { status: 200, body: stored };
  }

  private createEvent(namespace: string, ev: Obj): Reply {
    if (!ev.metadata?.name || (ev.metadata.namespace !== undefined && ev.metadata.namespace !== namespace)) return statusBody(422, 'Invalid', 'event needs metadata.name in the namespace of the URL');
    if (!ev.involvedObject || !ev.reason || !ev.type) return statusBody(422, 'Invalid', 'event needs involvedObject, reason and type');
    const stored = this.stamp({ ...ev, metadata: { ...ev.metadata, namespace } });
    this.events.push(stored);
    return { status: 201, body: stored };
  }

  private stamp(obj: Obj): Obj {
    this.resourceVersion += 1;
    return {
      ...obj,
      metadata: {
        uid: randomUUID(),
        creationTimestamp: new Date().toISOString(),
        ...obj.metadata,
        resourceVersion: String(this.resourceVersion),
      },
    };
  }
}

/** The RBAC verb and resource a request needs (as the API server's authorizer sees it). */
function rbacOf(method: string, pathname: string): { group: string; resource: string; verb: string } {
  const events = EVENTS_RE.exec(pathname);
  if (events) return { group: '', resource: 'events', verb: method === 'POST' ? 'create' : method.toLowerCase() };
  if (pathname.startsWith(CR_PREFIX)) {
    const [name, sub] = pathname.slice(CR_PREFIX.length).split('/').filter(Boolean);
    const resource = sub ? `s3filesystems/${sub}` : 's3filesystems';
    const verb = { GET: name ? 'get' : 'list', POST: 'create', PUT: 'update', PATCH: 'patch', DELETE: 'delete' }[method] ?? 'unexpected';
    return { group: 's3files.csi.io', resource, verb };
  }
  return { group: '?', resource: pathname, verb: 'unexpected' };
}
