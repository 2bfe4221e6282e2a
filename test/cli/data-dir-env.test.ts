/** KICLOUD_DATA_DIR end to end: `bin/kicloud serve` keeps its store, secrets and logs where the variable says,
 *  over the config file's `data_dir`, and finds them there again after a restart. */
import t from 'tap';
import { chmodSync, existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { Gateway, isRoot } from '../helpers/gateway.ts';

const outside = mkdtempSync('/tmp/kicloud-datadir-');
chmodSync(outside, 0o755);
const elsewhere = path.join(outside, 'data');
const gw = await Gateway.start({ env: { KICLOUD_DATA_DIR: elsewhere } });
t.teardown(async () => {
  await gw.cleanup();
  rmSync(outside, { recursive: true, force: true });
});

t.test('the store goes where KICLOUD_DATA_DIR says, not to the config\'s data_dir', async (t) => {
  t.ok(existsSync(path.join(elsewhere, 'private', 'kicloud.sqlite')), 'store in KICLOUD_DATA_DIR/private');
  t.equal(statSync(path.join(elsewhere, 'private')).mode & 0o777, 0o700, 'its private part is 0700');
  if (isRoot) t.equal(statSync(elsewhere).mode & 0o777, 0o711, 'the data dir is 0711 (accounts pass through to their logs only)');
  t.notOk(existsSync(gw.dataDir), `nothing in the config's data_dir (${gw.dataDir})`);
  t.equal((await gw.api('POST', '/hub/api/users/carol')).status, 201, 'the gateway works on it');
});

t.test('a restart with the same variable finds what it stored', async (t) => {
  await gw.stopGateway();
  await gw.launch();
  t.equal((await gw.api('GET', '/hub/api/users/carol')).status, 200, 'the user made before the restart is there');
  t.notOk(existsSync(gw.dataDir), 'still nothing in the config\'s data_dir');
});
