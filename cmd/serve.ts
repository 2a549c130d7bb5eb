// `s3files serve`: the NFS cache server for a set of exports, outside Kubernetes.
import path from 'node:path';
import { parseArgs } from 'node:util';
import { openCacheFileSystem } from '../pkg/cache';
import { logger, setLogLevel } from '../pkg/log/logger';
import { NfsServer } from '../pkg/nfs/server';
import { parseBytes, parseId, parseListen } from './flags';

const HELP = `usage: s3files serve [flags]

  --cache-dir DIR        where metadata and cached data live (default ./.s3files)
  --listen HOST:PORT     address for NFSv3 and MOUNTv3 (default 127.0.0.1:20490)
  --export NAME[,NAME]   exports to serve; clients mount HOST:/NAME (default data)
  --capacity SIZE        per-export capacity limit, e.g. 100G (default: the cache disk)
  --read-only            refuse every change
  --root-squash          map uid 0 to the anonymous uid/gid
  --all-squash           map every caller to the anonymous uid/gid
  --anon-uid N, --anon-gid N   the anonymous identity (default 65534)
  --log-level LEVEL      error, warn, info (default) or debug

mount with:
  mount -t nfs -o vers=3,proto=tcp,port=PORT,mountport=PORT,mountproto=tcp,local_lock=all HOST:/NAME /mnt`;

export async function serveCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      'cache-dir': { type: 'string', default: '.s3files' },
      listen: { type: 'string', default: '127.0.0.1:20490' },
      export: { type: 'string', default: 'data' },
      capacity: { type: 'string' },
      'read-only': { type: 'boolean', default: false },
      'root-squash': { type: 'boolean', default: false },
      'all-squash': { type: 'boolean', default: false },
      'anon-uid': { type: 'string', default: '65534' },
      'anon-gid': { type: 'string', default: '65534' },
      'log-level': { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(`${HELP}\n`);
    return 0;
  }
  if (values['log-level']) setLogLevel(values['log-level']);
  const log = logger('serve');
  const cacheDir = path.resolve(values['cache-dir']);
  const { host, port } = parseListen(values.listen);
  const names = values.export.split(',').map((s) => s.trim()).filter(Boolean);
  const capacityBytes = values.capacity ? parseBytes(values.capacity) : undefined;
  const exportOptions = {
    readOnly: values['read-only'],
    rootSquash: values['root-squash'],
    allSquash: values['all-squash'],
    anonUid: parseId(values['anon-uid'], '--anon-uid'),
    anonGid: parseId(values['anon-gid'], '--anon-gid'),
  };

  const server = await NfsServer.create({ stateDir: cacheDir, logger: logger('nfs') });
  for (const name of names) {
    const dir = path.join(cacheDir, 'exports', name.replace(/\//g, '_'));
    const fs = await openCacheFileSystem({ dir, capacityBytes, logger: logger('cache') });
    server.addExport(name, fs, exportOptions);
  }
  const address = await server.listen(host, port);
  log.info('serving', { address: address.address, port: address.port, exports: names, cacheDir });

  await waitForSignal();
  log.info('shutting down');
  await server.close();
  log.info('stopped');
  return 0;
}

function waitForSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const onSignal = (sig: NodeJS.Signals): void => {
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
      resolve(sig);
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
}
