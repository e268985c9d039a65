// serve_scale: what a second `gptkit serve` process buys (issue 18, "serving beyond one process").
// The committed deploy/nginx.conf (ports replaced, on loopback, in a temp prefix, as
// src/serve/nginx.test.ts runs it) in front of, with h = half the cores (1 on a 2-core machine):
//   A. one server with GPTKIT_THREADS=h,
//   B. one server with GPTKIT_THREADS=2h (every core in one process),
//   C. two servers with GPTKIT_THREADS=h each (servers × threads = the same cores as B),
// and the same load through nginx to each: 16 concurrent greedy streams of 128 tokens (16-token
// prompts) on the `small` config with random weights, like the `serve` benchmark. Figures: aggregate
// tokens/s of C against A and against B, TTFT p50/p99 of both sides. Rounds are interleaved
// (A, B, C, A, …) so a noisy neighbour hits every side alike; median of 7. On a shared machine the
// servers get what the neighbours leave, so each side also reports tokens per CPU-second its servers
// used (utime + stime from /proc): what a core buys, whatever the load.
// Needs nginx (apt-get install nginx): without it the figures are null and stderr says why.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { emit, log, median } from './harness.ts';
import { cpuModel } from './train_step.bench.ts';
import { benchTokenizer, stream } from './serve.bench.ts';
import { GPT, gptConfig } from '../src/models/gpt.ts';
import { tokenizerJsonText } from '../src/tokenizer/formats.ts';
import { saveCheckpoint } from '../src/interop/checkpoint.ts';

const root = join(import.meta.dirname, '..');
const SMALL = { nLayer: 6, nHead: 6, nEmbd: 384, blockSize: 256, vocabSize: 4096 };
const STREAMS = 16;
const PROMPT = 16;
const NEW = 128;
const REPS = 7;
const NGINX_HINT = 'apt-get install nginx';


const freePort = () => new Promise<number>((res) => {
  const s = createServer().listen(0, '127.0.0.1', () => { const p = (s.address() as { port: number }).port; s.close(() => res(p)); });
});

async function waitFor(url: string, what: () => string, ms = 120_000): Promise<void> {
  const t0 = Date.now();
  for (;;) {
    try { if ((await fetch(url)).ok) return; } catch { /* not up yet */ }
    if (Date.now() - t0 > ms) throw new Error(`serve_scale: ${url} did not come up: ${what()}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil(p * s.length) - 1)];
}

interface Setup { label: string; servers: number; threads: number; url: string; ports: number[]; pids: number[]; tps: number[]; ttft: number[]; cpuSec: number }

/** CPU seconds (user + system, every thread) a process has used; 0 where /proc is not there. */
function cpuSeconds(pid: number): number {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(f[11]) + Number(f[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100 on Linux)
  } catch {
    return 0;
  }
}

export async function run(): Promise<void> {
  const cpu = cpuModel();
  const cores = availableParallelism(), h = Math.max(1, Math.floor(cores / 2));
  const threads = (n: number) => `${n} thread${n > 1 ? 's' : ''}`;
  const labels = [`1 server × ${threads(h)}`, `1 server × ${threads(2 * h)}`, `2 servers × ${threads(h)}`];
  const base = { name: 'serve_scale', config: 'small', streams: STREAMS, prompt_tokens: PROMPT, new_tokens: NEW, unit: 'tokens/s', cores, cpu };
  if (spawnSync('nginx', ['-v'], { stdio: 'ignore' }).status !== 0) {
    log(`serve_scale: nginx is not installed (${NGINX_HINT}); no figures`);
    for (const ref of labels.slice(0, 2)) emit({ ...base, servers: 2, threads_per_server: h, value: null as unknown as number, ref, ref_value: null, error: 'nginx not installed' });
    return;
  }
  const tmp = mkdtempSync(join(tmpdir(), 'gptkit-serve-scale-'));
  const procs: ChildProcess[] = [];
  try {
    const modelDir = join(tmp, 'small');
    const model = new GPT(gptConfig('tiny', { ...SMALL, dropout: 0 })).eval();
    saveCheckpoint(modelDir, model, { tokenizerJson: { text: tokenizerJsonText((await benchTokenizer()).toSpec()) } });
    const committed = readFileSync(join(root, 'deploy', 'nginx.conf'), 'utf8');

    const start = async (label: string, servers: number, threads: number): Promise<Setup> => {
      const ports: number[] = [], pids: number[] = [];
      let errors = '';
      for (let i = 0; i < servers; i++) {
        const port = await freePort();
        const p = spawn(process.execPath, [join(root, 'bin', 'gptkit.mjs'), 'serve', '--model', modelDir, '--port', String(port), '--max-batch', String(STREAMS)], {
          env: { ...process.env, GPTKIT_THREADS: String(threads) }, stdio: ['ignore', 'ignore', 'pipe'],
        });
        p.stderr!.on('data', (d) => { errors += d; });
        procs.push(p);
        ports.push(port);
        pids.push(p.pid!);
      }
      // The committed file: its listen port and upstream servers replaced (the second server line
      // dropped for one server).
      const front = await freePort();
      let conf = committed.replace('listen 127.0.0.1:8080;', `listen 127.0.0.1:${front};`).replace('server 127.0.0.1:8081;', `server 127.0.0.1:${ports[0]};`);
      conf = servers > 1 ? conf.replace('server 127.0.0.1:8082;', `server 127.0.0.1:${ports[1]};`) : conf.replace(/\n\s*server 127\.0\.0\.1:8082;/, '');
      if (!conf.includes(`listen 127.0.0.1:${front};`) || conf.includes(':8082;')) throw new Error('serve_scale: deploy/nginx.conf no longer has the ports 8080/8081/8082 this benchmark replaces');
      const prefix = join(tmp, `nginx-${label.replace(/\W+/g, '-')}`);
      for (const d of ['', 'body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) mkdirSync(join(prefix, d), { recursive: true });
      writeFileSync(join(prefix, 'nginx.conf'), conf);
      const user = process.getuid?.() === 0 ? 'user root;' : '';
      const nginx = spawn('nginx', ['-p', prefix, '-c', join(prefix, 'nginx.conf'), '-g', `daemon off; ${user}`], { stdio: ['ignore', 'ignore', 'pipe'] });
      nginx.stderr!.on('data', (d) => { errors += d; });
      procs.push(nginx);
      for (const port of ports) await waitFor(`http://127.0.0.1:${port}/health`, () => errors);
      const url = `http://127.0.0.1:${front}`;
      await waitFor(`${url}/health`, () => errors);
      return { label, servers, threads, url, ports, pids, tps: [], ttft: [], cpuSec: 0 };
    };
    // A server idles at no CPU while another side runs, so all of them stay up and rounds interleave.
    const sides = [await start(labels[0], 1, h), await start(labels[1], 1, 2 * h), await start(labels[2], 2, h)];
    const round = async (s: Setup, salt: number) => {
      const cpu0 = s.pids.reduce((a, p) => a + cpuSeconds(p), 0);
      const t0 = performance.now();
      const all = await Promise.all(Array.from({ length: STREAMS }, (_, i) => stream(s.url, salt + i)));
      const sec = (performance.now() - t0) / 1000;
      return { tps: (STREAMS * NEW) / sec, ttft: all.map((x) => x.ttft), cpu: s.pids.reduce((a, p) => a + cpuSeconds(p), 0) - cpu0 };
    };
    // Warm-up: one stream alone, then a concurrent round (the first batch of each shape is slow).
    for (const s of sides) {
      await stream(s.url, 0);
      await round(s, 500);
    }
    const load0 = loadavg()[0];
    for (let rep = 0; rep < REPS; rep++) {
      for (const s of sides) {
        const r = await round(s, (rep + 1) * 1000);
        s.tps.push(r.tps);
        s.ttft.push(...r.ttft);
        s.cpuSec += r.cpu;
      }
      log(`rep ${rep}: ${sides.map((s) => `${s.label} ${s.tps.at(-1)!.toFixed(1)} tok/s`).join(', ')} (load ${loadavg()[0].toFixed(2)})`);
    }
    const load1 = loadavg()[0];
    // Both servers of C took a share (least_conn): from their /metrics.
    const served = async (port: number) => {
      const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      return [...text.matchAll(/^gptkit_requests_total\{[^}]*endpoint="\/v1\/completions"[^}]*\} (\d+)/gm)].reduce((a, m) => a + Number(m[1]), 0);
    };
    const [, , two] = sides;
    const perServer = await Promise.all(two.ports.map(served));
    const ms = (x: number) => Number((x * 1000).toFixed(1));
    const perCpu = (s: Setup) => (s.cpuSec > 0 ? Number(((REPS * STREAMS * NEW) / s.cpuSec).toFixed(1)) : null);
    const fig = (s: Setup) => ({ value: Number(median(s.tps).toFixed(1)), p50: ms(percentile(s.ttft, 0.5)), p99: ms(percentile(s.ttft, 0.99)), perCpu: perCpu(s) });
    const c = fig(two);
    for (const ref of sides.slice(0, 2)) {
      const r = fig(ref);
      emit({
        ...base, servers: 2, threads_per_server: h, value: c.value, ref: ref.label, ref_value: r.value,
        ttft_p50_ms: c.p50, ttft_p99_ms: c.p99, ref_ttft_p50_ms: r.p50, ref_ttft_p99_ms: r.p99,
        tokens_per_cpu_sec: c.perCpu, ref_tokens_per_cpu_sec: r.perCpu,
        requests_per_server: perServer, front: 'nginx (deploy/nginx.conf)', load_avg: [Number(load0.toFixed(2)), Number(load1.toFixed(2))],
      });
    }
  } finally {
    for (const p of procs) p.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 500));
    rmSync(tmp, { recursive: true, force: true });
  }
}
