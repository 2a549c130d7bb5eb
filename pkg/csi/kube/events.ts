// Kubernetes Events about S3FileSystems (sync failures, recoveries), so that `kubectl describe
// s3filesystem NAME` and `kubectl get events` show what went wrong where. Events are
// best-effort, as in client-go's recorder: a failure to post one is logged, never thrown, and
// the same event is not posted again within a quiet period, so a sync that fails every few
// seconds does not flood the API server.
import { randomBytes } from 'node:crypto';
import * as k8s from '@kubernetes/client-node';
import { logger as makeLogger, type Logger } from '../../log/logger';
import { scrubSecrets } from '../errors';
import { translateKubeError } from './s3filesystem-client';

export interface ObjectRef {
  apiVersion: string;
  kind: string;
  name: string;
  uid?: string;
}

export type EventType = 'Normal' | 'Warning';

export interface EventRecorder {
  event(object: ObjectRef, type: EventType, reason: string, message: string): Promise<void>;
}

export interface KubeEventRecorderOptions {
  /** e.g. "s3files-node"; with `host`, the event's source. */
  component: string;
  /** The node name, for events from a node plugin. */
  host?: string;
  /**
   * Where events go. S3FileSystems are cluster-scoped, and events about cluster-scoped objects
   * live in "default", as client-go puts them.
   */
  namespace?: string;
  /** The same (object, reason, message) is not posted again within this time (default 10 min). */
  quietMs?: number;
  now?: () => Date;
  logger?: Logger;
}

const MAX_MESSAGE = 1024;

export class KubeEventRecorder implements EventRecorder {
  private readonly api: k8s.CoreV1Api;
  private readonly sent = new Map<string, number>();
  private readonly log: Logger;
  private readonly now: () => Date;

  constructor(
    kubeConfig: k8s.KubeConfig,
    private readonly options: KubeEventRecorderOptions,
  ) {
    this.api = kubeConfig.makeApiClient(k8s.CoreV1Api);
    this.log = options.logger ?? makeLogger('kube-events');
    this.now = options.now ?? (() => new Date());
  }

  async event(object: ObjectRef, type: EventType, reason: string, message: string): Promise<void> {
    const text = scrubSecrets(message).slice(0, MAX_MESSAGE);
    const now = this.now();
    const key = `${object.kind}/${object.name}/${reason}/${text}`;
    const last = this.sent.get(key);
    if (last !== undefined && now.getTime() - last < (this.options.quietMs ?? 600_000)) return;
    const namespace = this.options.namespace ?? 'default';
    const body: k8s.CoreV1Event = {
      metadata: { name: `${object.name}.${now.getTime().toString(16)}${randomBytes(4).toString('hex')}`, namespace },
      involvedObject: { apiVersion: object.apiVersion, kind: object.kind, name: object.name, ...(object.uid ? { uid: object.uid } : {}) },
      type,
      reason,
      message: text,
      source: { component: this.options.component, ...(this.options.host ? { host: this.options.host } : {}) },
      reportingComponent: `s3files.csi.io/${this.options.component}`,
      ...(this.options.host ? { reportingInstance: this.options.host } : {}),
      firstTimestamp: now,
      lastTimestamp: now,
      count: 1,
    };
    try {
      await this.api.createNamespacedEvent({ namespace, body });
      this.sent.set(key, now.getTime());
      this.forgetOld(now.getTime());
    } catch (err) {
      this.log.warn('could not post a Kubernetes event', { object: `${object.kind}/${object.name}`, reason, err: translateKubeError(err, 'create event').message });
    }
  }

  /** Keeps the de-duplication map from growing without bound. */
  private forgetOld(nowMs: number): void {
    const quiet = this.options.quietMs ?? 600_000;
    for (const [k, t] of this.sent) if (nowMs - t >= quiet) this.sent.delete(k);
  }
}
