// Checkpoint directories, in the ecosystem's layout:
//   DIR/config.json          {"model_type": "gptkit-gpt", "gpt": GptConfig, ...extra}
//   DIR/model.safetensors    parameters by name (float32)
//   DIR/tokenizer.json       when a tokenizer was given (Hugging Face format)
//   DIR/trainer_state/       state.json (step, tokens, RNG streams, data position, options) and
//                            optimizer.safetensors (AdamW moments m.<param>, v.<param>)
// A checkpoint is one transaction of util/output.ts: a crash mid-write leaves the previous checkpoint
// intact, and files in the folder that gptkit did not write are never touched.
import { existsSync, readFileSync, copyFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { readSafetensors, writeSafetensors, toFloat32, type SafeTensor } from './safetensors.ts';
import { recoverDir } from '../util/fs.ts';
import { OutputDir, asOutput, type OutputOptions } from '../util/output.ts';
import { FileFormatError } from '../util/errors.ts';
import { GPT, gptConfig, type GptConfig } from '../models/gpt.ts';
import type { Tensor } from '../tensor/tensor.ts';

/** What a trainer needs to continue exactly where it stopped (train/trainer.ts fills it). */
export interface TrainerState {
  step: number;
  tokens: number;
  /** AdamW moments in the order of model.namedParameters(). */
  optimizer: { step: number; m: Float32Array[]; v: Float32Array[] };
  rngs: Record<string, unknown>;
  data: unknown;
}

export interface SaveOptions {
  /** Extra fields for config.json (e.g. the training options, the tokenizer's name). */
  extra?: Record<string, unknown>;
  /** A tokenizer.json to copy in, or its contents. */
  tokenizerJson?: { path: string } | { text: string };
  trainerState?: TrainerState;
  /** Anything else the caller wants to keep with the trainer state (e.g. its options). */
  trainerExtra?: Record<string, unknown>;
}

function tensorsOf(named: [string, Tensor][]): Map<string, SafeTensor> {
  return new Map(named.map(([n, t]) => [n, { dtype: 'F32' as const, shape: [...t.shape], data: t.data }]));
}

/** What a checkpoint writes, with the metrics log its trainer appends beside it. */
const CHECKPOINT_FILES = new Set(['config.json', 'model.safetensors', 'tokenizer.json', 'trainer_state', 'metrics.jsonl']);

/** A checkpoint folder written before output markers existed: its config names gptkit's model type. */
const legacyCheckpoint: OutputOptions['legacy'] = (dir, entries) => {
  if (!entries.includes('config.json') || !entries.includes('model.safetensors')) return null;
  try {
    if (JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')).model_type !== 'gptkit-gpt') return null;
  } catch {
    return null;
  }
  return entries.filter((n) => CHECKPOINT_FILES.has(n));
};

/** Open a folder as a checkpoint's output (see util/output.ts for what is refused). */
export function openCheckpointDir(dir: string, opts: Omit<OutputOptions, 'kind' | 'legacy'> = {}): OutputDir {
  return OutputDir.open(dir, { ...opts, kind: 'checkpoint', legacy: legacyCheckpoint });
}

/** Whether `dir` holds a checkpoint a trainer can resume from. */
export function hasTrainerState(dir: string): boolean {
  recoverDir(dir);
  OutputDir.recover(dir);
  return existsSync(join(dir, 'trainer_state', 'state.json'));
}

export function saveCheckpoint(dir: string | OutputDir, model: GPT, opts: SaveOptions = {}): void {
  asOutput(dir, 'checkpoint', legacyCheckpoint).commitSync((tmp) => {
    writeFileSync(join(tmp, 'config.json'), JSON.stringify({ model_type: 'gptkit-gpt', gpt: model.config, ...opts.extra }, null, 2) + '\n');
    writeSafetensors(join(tmp, 'model.safetensors'), tensorsOf(model.namedParameters()), { format: 'pt' });
    if (opts.tokenizerJson) {
      if ('path' in opts.tokenizerJson) copyFileSync(opts.tokenizerJson.path, join(tmp, 'tokenizer.json'));
      else writeFileSync(join(tmp, 'tokenizer.json'), opts.tokenizerJson.text);
    }
    const st = opts.trainerState;
    if (st) {
      const sd = join(tmp, 'trainer_state');
      mkdirSync(sd);
      const names = model.namedParameters().map(([n]) => n);
      const moments = new Map<string, SafeTensor>();
      names.forEach((n, i) => {
        moments.set(`m.${n}`, { dtype: 'F32', shape: [st.optimizer.m[i].length], data: st.optimizer.m[i] });
        moments.set(`v.${n}`, { dtype: 'F32', shape: [st.optimizer.v[i].length], data: st.optimizer.v[i] });
      });
      writeSafetensors(join(sd, 'optimizer.safetensors'), moments);
      const json = { step: st.step, tokens: st.tokens, optimizer_step: st.optimizer.step, rngs: st.rngs, data: st.data, ...opts.trainerExtra };
      writeFileSync(join(sd, 'state.json'), JSON.stringify(json, null, 2) + '\n');
    }
  });
}

export interface LoadedCheckpoint {
  model: GPT;
  config: Record<string, unknown>;
  tokenizerPath: string | null;
}

function readJson(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new FileFormatError(path, `cannot read: ${(e as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new FileFormatError(path, `not valid JSON: ${(e as Error).message}`);
  }
}

export function isGptkitCheckpoint(dir: string): boolean {
  recoverDir(dir);
  if (existsSync(dir)) OutputDir.recover(dir);
  if (!existsSync(join(dir, 'config.json'))) return false;
  return readJson(join(dir, 'config.json')).model_type === 'gptkit-gpt';
}

export function loadCheckpoint(dir: string): LoadedCheckpoint {
  recoverDir(dir);
  if (existsSync(dir)) OutputDir.recover(dir);
  const cfgPath = join(dir, 'config.json');
  const config = readJson(cfgPath);
  if (config.model_type !== 'gptkit-gpt') throw new FileFormatError(cfgPath, `model_type is '${config.model_type}', expected 'gptkit-gpt'`);
  let gpt: GptConfig;
  try {
    gpt = gptConfig(config.gpt as GptConfig);
  } catch (e) {
    throw new FileFormatError(cfgPath, `field "gpt": ${(e as Error).message}`);
  }
  const model = new GPT(gpt);
  const weightsPath = join(dir, 'model.safetensors');
  const { tensors } = readSafetensors(weightsPath);
  for (const [name, p] of model.namedParameters()) {
    const t = tensors.get(name);
    if (!t) throw new FileFormatError(weightsPath, `missing tensor '${name}'`);
    if (t.shape.length !== p.shape.length || t.shape.some((d, i) => d !== p.shape[i])) {
      throw new FileFormatError(weightsPath, `tensor '${name}' has shape [${t.shape}], the config needs [${p.shape}]`);
    }
    p.data.set(toFloat32(t));
    tensors.delete(name);
  }
  if (tensors.size) throw new FileFormatError(weightsPath, `unexpected tensors: ${[...tensors.keys()].slice(0, 5).join(', ')}`);
  const tok = join(dir, 'tokenizer.json');
  return { model, config, tokenizerPath: existsSync(tok) ? tok : null };
}

export interface LoadedTrainerState {
  state: TrainerState;
  extra: Record<string, unknown>;
}

export function loadTrainerState(dir: string, model: GPT): LoadedTrainerState {
  const sd = join(dir, 'trainer_state');
  const json = readJson(join(sd, 'state.json'));
  const optPath = join(sd, 'optimizer.safetensors');
  const { tensors } = readSafetensors(optPath);
  const m: Float32Array[] = [], v: Float32Array[] = [];
  for (const [n, p] of model.namedParameters()) {
    const tm = tensors.get(`m.${n}`), tv = tensors.get(`v.${n}`);
    if (!tm || !tv) throw new FileFormatError(optPath, `missing optimizer moments for '${n}'`);
    const fm = toFloat32(tm), fv = toFloat32(tv);
    if (fm.length !== p.size || fv.length !== p.size) throw new FileFormatError(optPath, `moments for '${n}' have ${fm.length} elements, the parameter ${p.size}`);
    m.push(fm);
    v.push(fv);
  }
  const { step, tokens, optimizer_step, rngs, data, ...extra } = json;
  return {
    state: { step: Number(step), tokens: Number(tokens), optimizer: { step: Number(optimizer_step), m, v }, rngs: rngs as Record<string, unknown>, data },
    extra,
  };
}
