// Child process for wal-engine.test.ts: under a file-size limit (ulimit -f), LMDB's commits
// start failing once data.mdb would outgrow it. Writes until several commits failed, prints
// which keys were acknowledged and which failed, and exits without closing (a crash).
//   sh -c 'ulimit -f N; exec node wal-commit-failure.fixture.js DIR'
import { MetadataStore } from '../metadata-store';
import { quietLog } from '../../test-helpers';

async function main(): Promise<void> {
  // The limit's signal would kill the process; the failed write is what is under test.
  process.on('SIGXFSZ', () => undefined);
  const store = MetadataStore.open(process.argv[2]!, { wal: true, walSegmentBytes: 256 * 1024, checkpointIntervalMs: 3_600_000, logger: quietLog });
  const acked: number[] = [];
  const failed: Array<[number, string]> = [];
  for (let k = 1; failed.length < 5 && k < 10_000; k++) {
    try {
      await store.transact(() => store.settings.putSync(`k${k}`, `${k}:`.padEnd(16 * 1024, 'x')));
      acked.push(k);
    } catch (err) {
      failed.push([k, (err as { code?: string }).code ?? String(err)]);
    }
  }
  process.stdout.write(`${JSON.stringify({ acked, failed })}\n`);
  process.exit(0);
}

void main();
