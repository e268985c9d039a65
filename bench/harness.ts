// Shared by every benchmark: one JSON object per line on stdout (format in ../shared/BENCH.md),
// everything else on stderr; timing helpers; and the Python reference runner.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';

export interface Figure {
  name: string;
  value: number;
  unit: string;
  ref: string | null;
  ref_value: number | null;
  [extra: string]: unknown;
}

/** Print one figure line; adds `ratio` = value / ref_value (null without a reference). */
export function emit(f: Figure): void {
  const ratio = f.ref_value ? Number((f.value / f.ref_value).toFixed(3)) : null;
  process.stdout.write(JSON.stringify({ ...f, ratio }) + '\n');
}

export function log(msg: string): void {
  process.stderr.write(msg + '\n');
}

/**
 * Peak resident set of this process in MB: Linux's VmHWM, the high-water mark of this program's
 * own memory. Not getrusage's maxrss: a child started by a large parent (the bench runner after
 * other benchmarks) inherits the parent's RSS at fork time as its starting maxrss.
 */
export function peakRssMb(): number {
  try {
    const m = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync('/proc/self/status', 'utf8'));
    if (m) return Number(m[1]) / 1024;
  } catch {
    // not Linux: fall through
  }
  return process.resourceUsage().maxRSS / 1024;
}

/** Median seconds of `reps` runs of fn after `warmup` runs. */
export function timeIt(fn: () => void, reps = 5, warmup = 1): number {
  for (let i = 0; i < warmup; i++) fn();
  const ts: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = process.hrtime.bigint();
    fn();
    ts.push(Number(process.hrtime.bigint() - t0) / 1e9);
  }
  return median(ts);
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/**
 * Environment that holds a Python reference to `threads` threads in total: torch.set_num_threads
 * alone leaves Debian's OpenBLAS free to use every core for the matrix products.
 */
export function threadEnv(threads: number): Record<string, string> {
  return { OPENBLAS_NUM_THREADS: String(threads), OMP_NUM_THREADS: String(threads), MKL_NUM_THREADS: String(threads) };
}

/** PyTorch 2.13 (MKL + oneDNN) in the repository's venv: what a PyTorch user runs today. */
export const venvPython = '.venv-ref/bin/python';
export const VENV_HINT = 'python3.11 -m venv .venv-ref && .venv-ref/bin/pip install torch==2.13.0 transformers==5.18.0 trl==1.13.0 numpy';

/** Run a reference script with the venv's Python (PyTorch 2.13, pip's numpy); null (and the hint) when the venv is missing or the script fails. */
export function runVenvRef(script: string, args: string[], extraEnv: Record<string, string> = {}): any | null {
  if (!existsSync(venvPython)) {
    log(`reference skipped: no ${venvPython} (${VENV_HINT})`);
    return null;
  }
  // As with Debian's python3 below: OpenBLAS picks its own kernels (numpy's OpenBLAS in the venv).
  const env: Record<string, string> = { ...(process.env as Record<string, string>), ...extraEnv };
  delete env.OPENBLAS_CORETYPE;
  delete env.OPENBLAS_L2_SIZE;
  const r = spawnSync(venvPython, [script, ...args], { env, encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) {
    log(`reference ${script} (PyTorch 2) failed: ${r.stderr.slice(-2000)}`);
    return null;
  }
  const lines = r.stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1]);
}

/**
 * True when an OpenBLAS description names one of its generic fallback kernels (what an OpenBLAS
 * too old to know the CPU model picks: Debian's 0.3.21 runs Prescott SSE3 code on an Emerald Rapids
 * Xeon, ~5× below its AVX-512 kernel). A reference on such a kernel is not a fair one.
 */
export function isFallbackBlas(blas: string): boolean {
  return /\b(Prescott|Katmai|Coppermine|Northwood|Banias|Core2|Penryn|Dunnington|Nehalem|Atom|Generic)\b/i.test(blas);
}

/** Debian's own python3 (where python3-torch and python3-numpy install), not a pyenv one on PATH. */
export const debianPython = '/usr/bin/python3';

/**
 * Run a Python reference script with Debian's python3 and parse the JSON it prints last.
 * OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE are unset for this command only, so OpenBLAS picks its
 * best kernels. Returns null (and says how to install) when a needed module is missing.
 */
export function runPythonRef(script: string, args: string[], needs: string[], extraEnv: Record<string, string> = {}): any | null {
  if (!existsSync(debianPython)) {
    log(`reference skipped: ${debianPython} not found (apt-get install python3 ${needs.join(' ')})`);
    return null;
  }
  const env: Record<string, string> = { ...(process.env as Record<string, string>), ...extraEnv };
  delete env.OPENBLAS_CORETYPE;
  delete env.OPENBLAS_L2_SIZE;
  const probe = spawnSync(debianPython, ['-c', `import ${needs.map((n) => n.replace(/^python3-/, '')).join(', ')}`], { env, encoding: 'utf8' });
  if (probe.status !== 0) {
    log(`reference skipped: missing ${needs.join(', ')} (install: apt-get install ${needs.map((n) => n.startsWith('python3-') ? n : `python3-${n}`).join(' ')} libopenblas0)`);
    return null;
  }
  const r = spawnSync(debianPython, [script, ...args], { env, encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) {
    log(`reference ${script} failed: ${r.stderr.slice(-2000)}`);
    return null;
  }
  const lines = r.stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1]);
}
