// The one entry point: `s3files <mode> [flags]`. Modes: serve (standalone NFS cache server),
// controller and node (the CSI plugins).
import { controllerCommand } from './controller';
import { nodeCommand } from './node';
import { serveCommand } from './serve';
import { statusCommand } from './status';

const USAGE = `usage: s3files <command> [flags]

commands:
  serve       run the NFS cache server standalone (no Kubernetes)
  controller  run the CSI controller plugin
  node        run the CSI node plugin (NFS cache server + CSI node service)
  status      is a file in the bucket yet (asks a running server)
  version     print the version
  help        print this help

run "s3files <command> --help" for a command's flags`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'serve':
      return serveCommand(rest);
    case 'controller':
      return controllerCommand(rest);
    case 'node':
      return nodeCommand(rest);
    case 'status':
      return statusCommand(rest);
    case 'version':
    case '--version':
      // eslint-disable-next-line @typescript-eslint/no-var-requires
      process.stdout.write(`${(require('../../package.json') as { version: string }).version}\n`);
      return 0;
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(`${USAGE}\n`);
      return command === undefined ? 2 : 0;
    default:
      process.stderr.write(`s3files: unknown command ${JSON.stringify(command)}\n${USAGE}\n`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code !== 0) process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`s3files: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
