// The update feed's manifest from a release's installers: `node --test packaging/`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { manifest, platformOf } from './update-manifest.mjs';

function release(files) {
  const dir = mkdtempSync(join(tmpdir(), 'update-manifest-'));
  for (const [name, body] of Object.entries(files)) writeFileSync(join(dir, name), body);
  return dir;
}

test('every installer the release builds has the platform key the updater looks for', () => {
  assert.equal(platformOf('gtedx-im_0.2.0_amd64.deb'), 'linux-x86_64-deb');
  assert.equal(platformOf('gtedx-im_0.2.0_arm64.deb'), 'linux-aarch64-deb');
  assert.equal(platformOf('gtedx-im-0.2.0-1.x86_64.rpm'), 'linux-x86_64-rpm');
  assert.equal(platformOf('Gtedx-IM_0.2.0_x64-setup.exe'), 'windows-x86_64-nsis');
  assert.equal(platformOf('Gtedx-IM_0.2.0_x64_en-US.msi'), 'windows-x86_64-msi');
  assert.equal(platformOf('gtedx-im_0.2.0_aarch64.app.tar.gz'), 'darwin-aarch64-app');
  assert.equal(platformOf('gtedx-im_0.2.0_x86_64.app.tar.gz'), 'darwin-x86_64-app');
  assert.equal(platformOf('Gtedx-IM_0.2.0_aarch64.dmg'), null, 'a disk image is not an update');
  assert.throws(() => platformOf('gtedx-im_0.2.0_sparc.deb'), /unknown architecture/);
});

test('signed installers become entries with their signature and download address', () => {
  const dir = release({
    'gtedx-im_0.2.0_amd64.deb': 'deb',
    'gtedx-im_0.2.0_amd64.deb.sig': 'c2lnLWRlYg==\n',
    'Gtedx-IM_0.2.0_x64-setup.exe': 'exe',
    'Gtedx-IM_0.2.0_x64-setup.exe.sig': 'c2lnLWV4ZQ==',
    'Gtedx-IM_0.2.0_aarch64.dmg': 'unsigned: not an update',
  });
  const out = manifest({
    dir,
    version: '0.2.0',
    baseUrl: 'https://example.org/releases/v0.2.0/',
    notes: 'Faster start-up.',
    pubDate: '2026-12-01T00:00:00.000Z',
  });
  assert.deepEqual(out, {
    version: '0.2.0',
    notes: 'Faster start-up.',
    pub_date: '2026-12-01T00:00:00.000Z',
    platforms: {
      'linux-x86_64-deb': {
        signature: 'c2lnLWRlYg==',
        url: 'https://example.org/releases/v0.2.0/gtedx-im_0.2.0_amd64.deb',
      },
      'windows-x86_64-nsis': {
        signature: 'c2lnLWV4ZQ==',
        url: 'https://example.org/releases/v0.2.0/Gtedx-IM_0.2.0_x64-setup.exe',
      },
    },
  });
});

test('a release the updater could not use is refused', () => {
  const base = { version: '0.2.0', baseUrl: 'https://x', pubDate: 'now' };
  assert.throws(() => manifest({ ...base, dir: release({ 'a.deb': 'x' }) }), /no signed installers/);
  assert.throws(
    () => manifest({ ...base, dir: release({ 'gtedx-im_0.2.0_amd64.deb.sig': 's' }) }),
    /no gtedx-im_0.2.0_amd64.deb beside it/,
  );
  assert.throws(
    () => manifest({ ...base, dir: release({ 'notes.txt': 'x', 'notes.txt.sig': 's' }) }),
    /not an installer/,
  );
  assert.throws(
    () =>
      manifest({
        ...base,
        dir: release({
          'a_0.2.0_amd64.deb': 'x',
          'a_0.2.0_amd64.deb.sig': 's',
          'b_0.2.0_amd64.deb': 'x',
          'b_0.2.0_amd64.deb.sig': 's',
        }),
      }),
    /linux-x86_64-deb: both/,
  );
});
