// Bundles the chat demo and the console into src/Broker/wwwroot: one minified JS and CSS file per page, named by
// content hash (cached for a year by the broker), and the HTML pages that name them. Run: npm ci && npm run build
import * as esbuild from 'esbuild';
import { readFileSync, writeFileSync, mkdirSync, rmSync } from 'node:fs';
import { dirname, join, basename } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const wwwroot = join(here, '..', 'src', 'Broker', 'wwwroot');
const assets = join(wwwroot, 'assets');
rmSync(assets, { recursive: true, force: true });
mkdirSync(assets, { recursive: true });

const result = await esbuild.build({
  entryPoints: { chat: join(here, 'src', 'chat.js'), console: join(here, 'src', 'console.js') },
  bundle: true,
  minify: true,
  format: 'esm',
  platform: 'browser',
  target: ['es2020'],
  outdir: assets,
  entryNames: '[name]-[hash]',
  metafile: true,
  legalComments: 'linked',
  logLevel: 'warning',
});

// entry name → { js, css } file names, from esbuild's metafile
const outputs = {};
for (const [file, meta] of Object.entries(result.metafile.outputs)) {
  if (!meta.entryPoint) continue;
  const name = basename(meta.entryPoint, '.js');
  outputs[name] = { js: basename(file), css: meta.cssBundle ? basename(meta.cssBundle) : null };
}

function page(template, entry, target) {
  const out = outputs[entry];
  const html = readFileSync(join(here, 'src', template), 'utf8')
    .replace('<!--css-->', out.css ? `<link rel="stylesheet" href="/assets/${out.css}">` : '')
    .replace('<!--js-->', `<script type="module" src="/assets/${out.js}"></script>`);
  mkdirSync(dirname(target), { recursive: true });
  writeFileSync(target, html);
}

page('chat.html', 'chat', join(wwwroot, 'index.html'));
page('console.html', 'console', join(wwwroot, 'console', 'index.html'));
console.log('built', JSON.stringify(outputs));
