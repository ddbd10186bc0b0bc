// The teaching page (web/): `build` bundles it with esbuild into web/dist/,
// a folder any static host can serve; `serve` builds it and serves that
// folder on localhost with the headers that make the page cross-origin
// isolated (COOP/COEP, so the browser hands out SharedArrayBuffer), and
// prints the URL.
//
//   node scripts/web.mjs build
//   node scripts/web.mjs serve [--port N] [--no-isolation]
//
// --no-isolation leaves the headers out, to see what the page does without
// them (the browser test uses it). The lessons are the examples: their
// text, and the section and summary examples/README.md's index gives them.
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import { dirname, extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const web = join(root, 'web');
const out = join(web, 'dist');

/** The first lessons, in this order: the host channel, then one of each System V mechanism and a checkpoint. */
const START_HERE = ['host-channel.scn', 'shmat-sharing.scn', 'sem-block-decrement-woken.scn', 'msg-block-pipelined-handoff.scn', 'shmctl-ipc-stat.scn'];

/** file → { section, teaches } from examples/README.md's index tables. */
function indexOfExamples() {
  const text = readFileSync(join(root, 'examples', 'README.md'), 'utf8');
  const index = new Map();
  let section = 'Other lessons';
  for (const line of text.split('\n')) {
    const h = /^###\s+(.*)$/.exec(line);
    if (h) section = h[1].replace(/\s*\(.*$/, '').trim();
    const row = /^\|\s*\[([^\]]+\.scn)\]\([^)]*\)\s*\|\s*([^|]*)\|/.exec(line);
    if (row && !index.has(row[1])) index.set(row[1], { section, teaches: row[2].trim() });
  }
  return index;
}

/** The file's first comment line, for a file the index does not list. */
function firstComment(source) {
  const line = source.split('\n').find((l) => l.startsWith('#'));
  return line === undefined ? '' : line.replace(/^#\s*(Lesson:\s*)?/, '');
}

function lessons() {
  const dir = join(root, 'examples');
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.scn'))
    .sort();
  const index = indexOfExamples();
  const make = (file, section) => {
    const source = readFileSync(join(dir, file), 'utf8');
    const entry = index.get(file);
    return {
      file,
      title: file.replace(/\.scn$/, ''),
      section: section ?? entry?.section ?? 'Other lessons',
      teaches: entry?.teaches || firstComment(source),
      source,
    };
  };
  const first = START_HERE.filter((f) => files.includes(f)).map((f) => make(f, 'Start here'));
  const rest = files.filter((f) => !START_HERE.includes(f)).map((f) => make(f));
  // Keep the index's section order; files it does not list go last.
  const order = [...new Set([...index.values()].map((e) => e.section)), 'Other lessons'];
  rest.sort((a, b) => order.indexOf(a.section) - order.indexOf(b.section) || a.file.localeCompare(b.file));
  return [...first, ...rest];
}

/** esbuild plugin: `virtual:lessons` is the examples as a module. */
const lessonsPlugin = {
  name: 'lessons',
  setup(build) {
    build.onResolve({ filter: /^virtual:lessons$/ }, () => ({ path: 'lessons', namespace: 'lessons' }));
    build.onLoad({ filter: /.*/, namespace: 'lessons' }, () => ({
      contents: `export const LESSONS = ${JSON.stringify(lessons())};`,
      loader: 'js',
      watchFiles: [join(root, 'examples', 'README.md')],
    }));
  },
};

export async function buildPage() {
  const { build } = await import('esbuild');
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  await build({
    absWorkingDir: root,
    entryPoints: { main: 'web/src/main.ts', worker: 'web/src/worker.ts' },
    outdir: out,
    bundle: true,
    platform: 'browser',
    format: 'iife',
    target: 'es2022',
    minify: true,
    sourcemap: true,
    logLevel: 'warning',
    legalComments: 'none',
    plugins: [lessonsPlugin],
  });
  for (const f of ['index.html', 'style.css']) copyFileSync(join(web, f), join(out, f));
  return out;
}

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json',
  '.json': 'application/json',
  '.png': 'image/png',
};

/** Serves web/dist; resolves with the server and its URL once it listens. */
export function servePage({ port = 8080, isolation = true } = {}) {
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const rel = normalize(decodeURIComponent(url.pathname)).replace(/^([/\\])+/, '') || 'index.html';
    const file = join(out, rel);
    if (!file.startsWith(out + sep) || !existsSync(file) || !statSync(file).isFile()) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    const headers = { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream', 'cache-control': 'no-cache' };
    if (isolation) {
      headers['cross-origin-opener-policy'] = 'same-origin';
      headers['cross-origin-embedder-policy'] = 'require-corp';
      headers['cross-origin-resource-policy'] = 'same-origin';
    }
    res.writeHead(200, headers).end(readFileSync(file));
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      const address = server.address();
      resolve({ server, url: `http://localhost:${typeof address === 'object' && address ? address.port : port}/` });
    });
  });
}

async function main(argv) {
  const [command, ...rest] = argv;
  if (command !== 'build' && command !== 'serve') {
    console.error('usage: node scripts/web.mjs build | serve [--port N] [--no-isolation]');
    return 2;
  }
  await buildPage();
  if (command === 'build') {
    console.log(`web: built ${out}`);
    return 0;
  }
  const at = rest.indexOf('--port');
  const port = at >= 0 ? Number(rest[at + 1]) : Number(process.env.PORT ?? 8080);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    console.error(`web: --port wants a port number from 0 to 65535, not ${rest[at + 1] ?? process.env.PORT}`);
    return 2;
  }
  const isolation = !rest.includes('--no-isolation');
  const { url } = await servePage({ port, isolation });
  console.log(`ipc-sentry teaching page: ${url}${isolation ? '' : ' (without COOP/COEP: no SharedArrayBuffer)'}`);
  console.log('Press Ctrl+C to stop.');
  return undefined;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).then(
    (code) => {
      if (code !== undefined) process.exitCode = code;
    },
    (e) => {
      console.error(`web: ${e instanceof Error ? e.message : e}`);
      process.exitCode = 1;
    },
  );
}
