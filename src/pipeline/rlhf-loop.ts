// The loop the RLHF stages (sft, rm, dpo) share around the Trainer: steps, validation at every
// epoch end (or every evalEvery steps), the best model by validation kept in `out/`, the latest
// state in `out/last/` for an exact resume, and metrics.jsonl. The stage says what a step's loss
// and a validation score are; this file says when to save what.
//
//   out/                 the best model so far (what the next stage reads)
//   out/last/            the latest step's model + trainer_state/ (what --resume reads)
//   out/metrics.jsonl    one record per step, plus validation records
import { existsSync, readFileSync, appendFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { writeFileAtomic } from '../util/fs.ts';
import type { OutputDir } from '../util/output.ts';
import type { Trainer, StepEvent } from '../train/trainer.ts';
import { loadTrainerState, hasTrainerState, openCheckpointDir } from '../interop/checkpoint.ts';
import type { GPT } from '../models/gpt.ts';
import { ConfigError } from '../util/errors.ts';
import { mpiWorld } from '../train/distributed.ts';

export type LoopEvent =
  | ({ type: 'step'; epoch: number } & StepEvent)
  | { type: 'eval'; step: number; metrics: Record<string, number>; best: boolean }
  | { type: 'checkpoint'; step: number; dir: string; best: boolean };

export interface LoopOptions {
  /** null on data-parallel ranks other than 0: they train and validate alongside, and write nothing. */
  out: OutputDir | null;
  trainer: Trainer;
  /** Validation metrics; `score` decides the best model (higher is better). */
  evaluate: () => Record<string, number> & { score: number };
  evalEvery: number;
  checkpointEvery: number; // 0 = at evaluations and the end
  /** The epoch the data source is in (for progress). */
  epoch: () => number;
  /** Write a model directory (weights, tokenizer, config) with these SaveOptions extras. */
  save: (dir: OutputDir, opts: { trainerState?: ReturnType<Trainer['state']>; trainerExtra?: Record<string, unknown> }) => void;
  onEvent: (e: LoopEvent) => void;
}

export const LAST = 'last';

/** Settings a resumed run may change: how long it runs and how often it saves or validates. */
export const MAY_CHANGE = ['steps', 'checkpointEvery', 'evalEvery'] as const;

/** Whether `out` holds a run that --resume can continue. */
export function canResume(out: string): boolean {
  return existsSync(join(out, LAST)) && hasTrainerState(join(out, LAST));
}

/**
 * The settings of a resumed run: the ones it started with (out/last/config.json's "training"),
 * except where the caller sets a key, which must then agree with them — a resumed run that silently
 * changed its data, schedule or seed would not be the run it claims to continue. `mayChange` keys
 * (e.g. steps, checkpointEvery) are taken from the caller. Data paths were saved resolved.
 */
export function resumeSettings<C extends object>(out: string, defaults: C, given: Partial<C>, mayChange: readonly string[] = MAY_CHANGE): C {
  const path = join(out, LAST, 'config.json');
  let saved: Record<string, unknown>;
  try {
    saved = (JSON.parse(readFileSync(path, 'utf8')).training ?? {}) as Record<string, unknown>;
  } catch (e) {
    throw new ConfigError(`--resume: cannot read the run's settings from ${path}: ${(e as Error).message}`);
  }
  const cfg = { ...defaults } as Record<string, unknown>;
  for (const k of Object.keys(defaults)) if (k in saved) cfg[k] = saved[k];
  for (const [k, v] of Object.entries(given)) {
    if (v === undefined || k === 'resume' || k === 'force') { cfg[k] = v ?? cfg[k]; continue; }
    const isPaths = Array.isArray(v) && Array.isArray(saved[k]) && (v as unknown[]).every((x) => typeof x === 'string');
    // Paths are compared resolved; 'world' data is checked by the data itself (same files).
    const same = isPaths
      ? (v as string[]).includes('world') || (v as string[]).some((x) => x.startsWith('world:')) || JSON.stringify((v as string[]).map((x) => resolve(x))) === JSON.stringify(saved[k])
      : typeof v === 'string' && typeof saved[k] === 'string' && (k === 'model' || k === 'policy' || k === 'reward' || k === 'world') ? resolve(v) === resolve(saved[k] as string) : JSON.stringify(v) === JSON.stringify(saved[k]);
    if (k in saved && !same && !mayChange.includes(k)) {
      throw new ConfigError(`--resume: ${k} is ${JSON.stringify(v)}, but the run in ${out} started with ${JSON.stringify(saved[k])}`, 'leave it out to continue with the run\'s own setting, or start a new run');
    }
    cfg[k] = isPaths && same && !(v as string[]).includes('world') ? saved[k] : v;
  }
  return cfg as C;
}

/**
 * Under mpirun, rank 0 opens the stage's output folder and writes; the other ranks get null and
 * only train (train/distributed.ts). Alone, the folder as always.
 */
export async function withStageOutput<T>(open: () => OutputDir, body: (out: OutputDir | null) => Promise<T>): Promise<T> {
  const comm = mpiWorld();
  if (comm && comm.rank > 0) return body(null);
  const out = open();
  return out.use(() => body(out));
}

/** Restore the trainer from DIR/last (the model must already hold its weights); `out` null: read only (ranks other than 0). */
export function restoreTrainer(out: OutputDir | null, dir: string, model: GPT, trainer: Trainer): { step: number; best: number | null } {
  const { state, extra } = loadTrainerState(join(dir, LAST), model);
  trainer.restore(state);
  // Metrics the interrupted run logged after its last checkpoint are redone now.
  const mp = out?.file('metrics.jsonl');
  if (mp && existsSync(mp)) {
    const kept = readFileSync(mp, 'utf8').split('\n').filter((l) => l && JSON.parse(l).step <= state.step);
    writeFileAtomic(mp, kept.map((l) => l + '\n').join(''));
  }
  return { step: state.step, best: typeof extra.best_score === 'number' ? extra.best_score : null };
}

/** Run to trainer.opts.steps; returns the best validation score (null without validation). */
export function runLoop(o: LoopOptions, startBest: number | null, fresh: boolean): number | null {
  const { trainer, out } = o;
  const mp = out?.file('metrics.jsonl');
  if (out && mp) {
    if (fresh || !existsSync(mp)) writeFileAtomic(mp, '');
    out.own('metrics.jsonl');
  }
  const last = out ? openCheckpointDir(out.file(LAST), { update: true, force: true }) : null;
  out?.own(LAST);
  const metric = (rec: Record<string, unknown>) => { if (mp) appendFileSync(mp, JSON.stringify(rec) + '\n'); };
  let best = startBest;
  const steps = trainer.opts.steps;
  const saveLast = () => {
    if (!last) return;
    o.save(last, { trainerState: trainer.state(), trainerExtra: { best_score: best } });
    o.onEvent({ type: 'checkpoint', step: trainer.step, dir: last.path, best: false });
  };
  while (trainer.step < steps) {
    const ev = trainer.runStep();
    o.onEvent({ type: 'step', epoch: o.epoch(), ...ev });
    metric({ step: ev.step, epoch: o.epoch(), loss: ev.loss, lr: ev.lr, grad_norm: ev.gradNorm, tokens: ev.tokens, elapsed_sec: ev.elapsedSec });
    const final = ev.step === steps;
    let saved = false;
    if (o.evalEvery > 0 && (ev.step % o.evalEvery === 0 || final)) {
      const m = o.evaluate();
      const isBest = best === null || m.score > best;
      o.onEvent({ type: 'eval', step: ev.step, metrics: m, best: isBest });
      metric({ step: ev.step, ...Object.fromEntries(Object.entries(m).map(([k, v]) => [`val_${k}`, v])) });
      if (isBest) {
        best = m.score;
        if (out) {
          o.save(out, {});
          o.onEvent({ type: 'checkpoint', step: ev.step, dir: out.path, best: true });
        }
      }
      saveLast();
      saved = true;
    }
    if (!saved && (final || (o.checkpointEvery > 0 && ev.step % o.checkpointEvery === 0))) saveLast();
  }
  // Without validation the last model is the model.
  if (out && (o.evalEvery <= 0 || best === null)) o.save(out, {});
  last?.close();
  return best;
}
