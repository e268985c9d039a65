// A trainer state saved beside any Module's weights, in the layout GPT checkpoints use
// (interop/checkpoint.ts): DIR/trainer_state/state.json (step, tokens, optimizer step, RNG streams,
// data position, extras) and optimizer.safetensors (AdamW moments `m.<param>`, `v.<param>` in the
// order of module.namedParameters()). BERT and Transformer checkpoints write and read it here, and
// fill their parameters from a file's tensors by name (loadParams).
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { readSafetensors, writeSafetensors, toFloat32, type SafeTensor } from './safetensors.ts';
import { FileFormatError } from '../util/errors.ts';
import type { TrainerState } from './checkpoint.ts';
import type { Module } from '../nn/module.ts';

/** Write DIR/trainer_state/ (DIR: a transaction's staging folder). */
export function writeTrainerState(dir: string, module: Module, st: TrainerState, extra: Record<string, unknown> = {}): void {
  const sd = join(dir, 'trainer_state');
  mkdirSync(sd);
  const moments = new Map<string, SafeTensor>();
  module.namedParameters().forEach(([n], i) => {
    moments.set(`m.${n}`, { dtype: 'F32', shape: [st.optimizer.m[i].length], data: st.optimizer.m[i] });
    moments.set(`v.${n}`, { dtype: 'F32', shape: [st.optimizer.v[i].length], data: st.optimizer.v[i] });
  });
  writeSafetensors(join(sd, 'optimizer.safetensors'), moments);
  writeFileSync(join(sd, 'state.json'), JSON.stringify({ step: st.step, tokens: st.tokens, optimizer_step: st.optimizer.step, rngs: st.rngs, data: st.data, ...extra }, null, 2) + '\n');
}

/** Read DIR/trainer_state/, moments in the order of `module.namedParameters()`. */
export function readTrainerState(dir: string, module: Module): { state: TrainerState; extra: Record<string, unknown> } {
  const sd = join(dir, 'trainer_state');
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(readFileSync(join(sd, 'state.json'), 'utf8'));
  } catch (e) {
    throw new FileFormatError(join(sd, 'state.json'), `cannot read as JSON: ${(e as Error).message}`);
  }
  const optPath = join(sd, 'optimizer.safetensors');
  const { tensors } = readSafetensors(optPath);
  const m: Float32Array[] = [], v: Float32Array[] = [];
  for (const [n, p] of module.namedParameters()) {
    const tm = tensors.get(`m.${n}`), tv = tensors.get(`v.${n}`);
    if (!tm || !tv) throw new FileFormatError(optPath, `missing optimizer moments for '${n}'`);
    const fm = toFloat32(tm), fv = toFloat32(tv);
    if (fm.length !== p.size || fv.length !== p.size) throw new FileFormatError(optPath, `moments for '${n}' have ${fm.length} elements, the parameter ${p.size}`);
    m.push(fm);
    v.push(fv);
  }
  const { step, tokens, optimizer_step, rngs, data, ...extra } = json;
  return { state: { step: Number(step), tokens: Number(tokens), optimizer: { step: Number(optimizer_step), m, v }, rngs: rngs as Record<string, unknown>, data }, extra };
}

/** Copy a file's tensors into a module's parameters by name; returns the names it let be missing (`optional`); used tensors leave the map. */
export function loadParams(module: Module, tensors: Map<string, SafeTensor>, file: string, optional: (name: string) => boolean = () => false): Set<string> {
  const missing = new Set<string>();
  for (const [name, p] of module.namedParameters()) {
    const t = tensors.get(name);
    if (!t) {
      if (!optional(name)) throw new FileFormatError(file, `missing tensor '${name}'`);
      missing.add(name);
      continue;
    }
    if (t.shape.length !== p.shape.length || t.shape.some((d, i) => d !== p.shape[i])) {
      throw new FileFormatError(file, `tensor '${name}' has shape [${t.shape}], the config needs [${p.shape}]`);
    }
    p.data.set(toFloat32(t));
    tensors.delete(name);
  }
  return missing;
}
