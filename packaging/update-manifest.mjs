#!/usr/bin/env node
// Writes the update feed's `latest.json` (tauri-plugin-updater's static format) from a folder of
// signed installers, as the release workflow collects them: every installer next to its `.sig`
// (made by `tauri build` with `createUpdaterArtifacts` and TAURI_SIGNING_PRIVATE_KEY) becomes the
// entry of its platform, `{os}-{arch}-{installer}`, which is what the updater in an installed app
// looks for first. A build from source (no installer) finds no entry and does not update itself.
//
//   node packaging/update-manifest.mjs --version 0.2.0 --base-url URL [--notes FILE] DIR > latest.json
//
// Fails on a signature without its installer, an installer it cannot place, or two installers
// for one platform.
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

/** Debian's, RPM's and the installers' names for an architecture → the updater's. */
const ARCH = {
  amd64: 'x86_64',
  x86_64: 'x86_64',
  x64: 'x86_64',
  arm64: 'aarch64',
  aarch64: 'aarch64',
  i386: 'i686',
  x86: 'i686',
  armhf: 'armv7',
};

/** The platform key of an installer's file name, or null when it is not one. */
export function platformOf(file) {
  const rules = [
    [/_([a-z0-9]+)\.deb$/, 'linux', 'deb'],
    [/\.([a-z0-9_]+)\.rpm$/, 'linux', 'rpm'],
    [/\.AppImage$/, 'linux', 'appimage', 'x86_64'],
    [/_([a-z0-9]+)-setup\.exe$/, 'windows', 'nsis'],
    [/_([a-z0-9]+)_[a-zA-Z-]+\.msi$/, 'windows', 'msi'],
    [/_([a-z0-9_]+)\.app\.tar\.gz$/, 'darwin', 'app'],
  ];
  for (const [pattern, os, installer, fixedArch] of rules) {
    const match = file.match(pattern);
    if (!match) continue;
    const arch = fixedArch ?? ARCH[match[1]];
    if (!arch) throw new Error(`${file}: unknown architecture "${match[1]}"`);
    return `${os}-${arch}-${installer}`;
  }
  return null;
}

/** The manifest for the signed installers in `dir`. */
export function manifest({ dir, version, baseUrl, notes, pubDate }) {
  const files = readdirSync(dir);
  const platforms = {};
  for (const sig of files.filter((f) => f.endsWith('.sig')).sort()) {
    const file = sig.slice(0, -'.sig'.length);
    if (!existsSync(join(dir, file))) throw new Error(`${sig}: no ${file} beside it`);
    const platform = platformOf(file);
    if (!platform) throw new Error(`${file}: not an installer the updater knows`);
    if (platforms[platform]) {
      throw new Error(`${platform}: both ${platforms[platform].file} and ${file}`);
    }
    platforms[platform] = {
      file,
      signature: readFileSync(join(dir, sig), 'utf8').trim(),
      url: `${baseUrl.replace(/\/$/, '')}/${encodeURIComponent(file)}`,
    };
  }
  if (Object.keys(platforms).length === 0) throw new Error(`${dir}: no signed installers (*.sig)`);
  return {
    version,
    notes: notes ?? null,
    pub_date: pubDate,
    platforms: Object.fromEntries(
      Object.entries(platforms).map(([key, { signature, url }]) => [key, { signature, url }]),
    ),
  };
}

function main(argv) {
  const args = { notes: null };
  const rest = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--version') args.version = argv[++i];
    else if (arg === '--base-url') args.baseUrl = argv[++i];
    else if (arg === '--notes') args.notes = readFileSync(argv[++i], 'utf8').trim();
    else rest.push(arg);
  }
  if (!args.version || !args.baseUrl || rest.length !== 1) {
    console.error('usage: update-manifest.mjs --version V --base-url URL [--notes FILE] DIR');
    process.exit(2);
  }
  const out = manifest({
    dir: rest[0],
    version: args.version.replace(/^v/, ''),
    baseUrl: args.baseUrl,
    notes: args.notes,
    pubDate: new Date().toISOString(),
  });
  process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  try {
    main(process.argv.slice(2));
  } catch (e) {
    console.error(`update-manifest: ${e.message}`);
    process.exit(1);
  }
}
