// gptkit as a package others depend on: packed (prepack compiles dist/), installed from the tarball
// into a fresh project, imported from plain JavaScript and from TypeScript (type-checked against the
// published .d.ts files), generating text, and `npx gptkit --version` running the compiled CLI.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, existsSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const repo = resolve('.');
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

function sh(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = process.env): string {
  const r = spawnSync(cmd, args, { cwd, env, encoding: 'utf8', timeout: 300_000 });
  assert.equal(r.status, 0, `${cmd} ${args.join(' ')} failed:\n${r.stdout}\n${r.stderr}`);
  return `${r.stdout}${r.stderr}`;
}

test('npm pack → npm install the tarball → import, type-check, generate, run the CLI', () => {
  const work = mkdtempSync(join(tmpdir(), 'gptkit-pack-'));
  sh(npm, ['pack', '--pack-destination', work], repo);
  const tgz = readdirSync(work).find((n) => n.endsWith('.tgz'));
  assert.ok(tgz, 'a tarball');
  const listing = sh('tar', ['tzf', join(work, tgz!)], work);
  for (const f of ['package/dist/index.js', 'package/dist/index.d.ts', 'package/dist/tokenizer/index.d.ts', 'package/dist/tokenizer/encode-worker.mjs', 'package/binding.gyp', 'package/native/src/gemm.cc', 'package/scripts/build-native.mjs', 'package/bin/gptkit.mjs']) {
    assert.ok(listing.includes(f), `the tarball has ${f}`);
  }
  assert.ok(!listing.includes('package/src/'), 'the sources stay out: the package runs dist/');

  const proj = join(work, 'app');
  sh('mkdir', ['-p', proj], work);
  writeFileSync(join(proj, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', type: 'module', private: true }));
  // The addon's compile (a minute) is checked by hand (README); here its install script runs and skips.
  const log = sh(npm, ['install', '--prefer-offline', '--no-audit', '--no-fund', '--foreground-scripts', join(work, tgz!)], proj, { ...process.env, GPTKIT_SKIP_NATIVE: '1' });
  assert.match(log, /GPTKIT_SKIP_NATIVE=1, not building the native addon/, 'the install script ran from the tarball');

  writeFileSync(join(proj, 'use.mjs'), `
import { GPT, gptConfig, loadTokenizer, generateText } from 'gptkit';
import { loadTokenizer as fromSubpath } from 'gptkit/tokenizer';
import { scoreText } from 'gptkit/generate';
const tok = loadTokenizer('gpt2');
const model = new GPT(gptConfig('nano', { vocabSize: tok.vocabSize, blockSize: 32 }), 1);
const [out] = generateText(model, tok, ['Hello'], { maxTokens: 4, greedy: true });
console.log(JSON.stringify({ tokens: out.completionTokens, same: fromSubpath === loadTokenizer, ppl: scoreText(model, tok, 'Hello world').perplexity > 1 }));
`);
  const res = JSON.parse(sh(process.execPath, ['use.mjs'], proj).trim().split('\n').pop()!);
  assert.deepEqual(res, { tokens: 4, same: true, ppl: true });

  writeFileSync(join(proj, 'use.ts'), `
import { GPT, gptConfig, loadTokenizer, generateText, type TextGeneration } from 'gptkit';
import { scoreText } from 'gptkit/generate';
const tok = loadTokenizer('gpt2');
const model = new GPT(gptConfig('nano', { vocabSize: tok.vocabSize }), 1);
const out: TextGeneration[] = generateText(model, tok, ['Hi'], { maxTokens: 2 });
const p: number = scoreText(model, tok, 'Hi there').perplexity;
console.log(out.length, p);
`);
  writeFileSync(join(proj, 'tsconfig.json'), JSON.stringify({ compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext', target: 'ES2022', strict: true, noEmit: true, skipLibCheck: false, types: ['node'], typeRoots: [join(repo, 'node_modules', '@types')] }, include: ['use.ts'] }));
  sh(process.execPath, [join(repo, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', proj], proj);

  const version = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')).version;
  assert.equal(sh(npm, ['exec', '--offline', '--', 'gptkit', '--version'], proj).trim(), `gptkit ${version}`);
  assert.ok(existsSync(join(proj, 'node_modules', 'gptkit', 'dist', 'cli', 'main.js')));
});
