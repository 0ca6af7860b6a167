import { parseArgs } from 'node:util';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { benchCommand } from './bench-command.js';
import { proxyCommand } from './proxy-command.js';
import { serverCommand } from './server-command.js';
import { snapshotCommand } from './snapshot-command.js';
import { upCommand } from './up-command.js';

const USAGE = `kvfleet — an etcd-compatible hybrid cluster (Raft members + read-optimized proxies)

Usage: kvfleet <command> [options]

Commands:
  server          Run a Raft member (etcd's flags; kvfleet server --help)
  proxy           Run a read proxy in front of members (kvfleet proxy --help)
  up              Run a local cluster (3 members, 2 proxies) in this terminal (npm start)
  snapshot        snapshot restore <file>: a new member data dir from a saved snapshot
  bench           load against etcd v3 endpoints (kvfleet bench --help)
  help            Show this help

Options:
  -h, --help      Show this help
  -v, --version   Print the version
`;

/** Runs the CLI and returns the process exit code. */
export async function main(argv: string[]): Promise<number> {
  if (argv[0] === 'server') return serverCommand(argv.slice(1));
  if (argv[0] === 'proxy') return proxyCommand(argv.slice(1));
  if (argv[0] === 'snapshot') return snapshotCommand(argv.slice(1));
  if (argv[0] === 'bench') return benchCommand(argv.slice(1));
  if (argv[0] === 'up') return upCommand(argv.slice(1), fileURLToPath(new URL('../bin/kvfleet.js', import.meta.url)));
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: { help: { type: 'boolean', short: 'h' }, version: { type: 'boolean', short: 'v' } },
      allowPositionals: true,
      strict: true,
    });
  } catch (e) {
    process.stderr.write(`kvfleet: ${(e as Error).message}\n\n${USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.version === true) {
    process.stdout.write(`kvfleet ${version()}\n`);
    return 0;
  }
  const command = positionals[0];
  if (values.help === true || command === undefined || command === 'help') {
    process.stdout.write(USAGE);
    return 0;
  }
  process.stderr.write(`kvfleet: unknown command "${command}"\n\n${USAGE}`);
  return 2;
}

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}
