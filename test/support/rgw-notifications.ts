// Ceph RGW bucket notifications for tests, configured exactly as an operator would (docs/
// freshness.md): a topic created through RGW's SNS-compatible API (POST Action=CreateTopic with
// the push-endpoint attribute, signed SigV4), then the bucket's notification configuration
// (S3 PutBucketNotificationConfiguration with a TopicConfiguration naming the topic's ARN).
import { createHash, createHmac } from 'node:crypto';
import { PutBucketNotificationConfigurationCommand, S3Client } from '@aws-sdk/client-s3';
import type { CephRgw } from './ceph-rgw';

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');
const hmac = (key: Buffer | string, s: string) => createHmac('sha256', key).update(s).digest();

/** AWS Signature Version 4 headers for a POST of a form body to "/" (service "sns"). */
function sigV4Headers(gw: CephRgw, host: string, body: string): Record<string, string> {
  const amzDate = new Date().toISOString().replace(/[-:]|\.\d{3}/g, '');
  const day = amzDate.slice(0, 8);
  const payloadHash = sha256(body);
  const headers: Record<string, string> = {
    'content-type': 'application/x-www-form-urlencoded',
    host,
    'x-amz-content-sha256': payloadHash,
    'x-amz-date': amzDate,
  };
  const names = Object.keys(headers).sort();
  const canonical = ['POST', '/', '', ...names.map((n) => `${n}:${headers[n]}`), '', names.join(';'), payloadHash].join('\n');
  const scope = `${day}/${gw.region}/sns/aws4_request`;
  const toSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256(canonical)].join('\n');
  let key = hmac(`AWS4${gw.secretAccessKey}`, day);
  for (const part of [gw.region, 'sns', 'aws4_request']) key = hmac(key, part);
  const signature = createHmac('sha256', key).update(toSign).digest('hex');
  headers.authorization = `AWS4-HMAC-SHA256 Credential=${gw.accessKeyId}/${scope}, SignedHeaders=${names.join(';')}, Signature=${signature}`;
  return headers;
}

/** POSTs an SNS-style action to the gateway; returns the response body (XML). */
async function snsAction(gw: CephRgw, params: Record<string, string>): Promise<string> {
  const url = new URL(gw.endpoint);
  const body = new URLSearchParams(params).toString();
  const headers = sigV4Headers(gw, url.host, body);
  delete headers.host; // fetch sets it (to the same value)
  const res = await fetch(`${gw.endpoint}/`, { method: 'POST', headers, body });
  const text = await res.text();
  if (!res.ok) throw new Error(`RGW ${params.Action} failed: HTTP ${res.status} ${text}`);
  return text;
}

/** Creates a topic pushing to `pushEndpoint` (http://…); returns its ARN. */
export async function createPushTopic(gw: CephRgw, name: string, pushEndpoint: string, opts: { persistent?: boolean } = {}): Promise<string> {
  const xml = await snsAction(gw, {
    Action: 'CreateTopic',
    Name: name,
    'Attributes.entry.1.key': 'push-endpoint',
    'Attributes.entry.1.value': pushEndpoint,
    ...(opts.persistent ? { 'Attributes.entry.2.key': 'persistent', 'Attributes.entry.2.value': 'true' } : {}),
  });
  const arn = /<TopicArn>([^<]+)<\/TopicArn>/.exec(xml)?.[1];
  if (!arn) throw new Error(`CreateTopic answered without a TopicArn: ${xml}`);
  return arn;
}

/** Every object-created and object-removed event of `bucket` goes to the topic. */
export async function notifyBucket(gw: CephRgw, bucket: string, topicArn: string, id = 's3files'): Promise<void> {
  const client = new S3Client({
    endpoint: gw.endpoint,
    region: gw.region,
    forcePathStyle: true,
    credentials: { accessKeyId: gw.accessKeyId, secretAccessKey: gw.secretAccessKey },
  });
  try {
    await client.send(new PutBucketNotificationConfigurationCommand({
      Bucket: bucket,
      NotificationConfiguration: { TopicConfigurations: [{ Id: id, TopicArn: topicArn, Events: ['s3:ObjectCreated:*', 's3:ObjectRemoved:*'] }] },
    }));
  } finally {
    client.destroy();
  }
}
