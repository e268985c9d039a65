// Finetuned checkpoints: a pretraining checkpoint directory (saveCheckpoint writes it) whose
// model.safetensors also holds the task head (`score.proj.weight`, `score.proj.bias`) and whose
// config.json says what the head is for:
//   "finetune": {"task", "spec", "layout", "labels", "n_classes", "classifier_dropout", "special_tokens"}
// loadCheckpoint reads plain GPTs only, so this module reads these.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readSafetensors, toFloat32 } from './safetensors.ts';
import { recoverDir } from '../util/fs.ts';
import { FileFormatError } from '../util/errors.ts';
import { gptConfig, type GptConfig } from '../models/gpt.ts';
import { GptTaskModel, TASK_LAYOUTS, TASK_TOKENS, type TaskLayout } from '../models/gpt1-task.ts';

/** What a finetuned checkpoint's head was trained for (config.json's "finetune"). */
export interface TaskHeadInfo {
  /** The task's short name ('entailment'); `gptkit eval` uses the head on the task of this name. */
  task: string;
  /** The task as given to `gptkit finetune` ('world:entailment', a path). */
  spec: string;
  layout: TaskLayout;
  /** Class labels in the head's order (null for multiple choice). */
  labels: string[] | null;
  nClasses: number;
  classifierDropout: number;
  specialTokens: typeof TASK_TOKENS;
}

export function taskHeadJson(info: TaskHeadInfo): Record<string, unknown> {
  return {
    task: info.task, spec: info.spec, layout: info.layout, labels: info.labels, n_classes: info.nClasses,
    classifier_dropout: info.classifierDropout, special_tokens: info.specialTokens,
  };
}

function readConfig(dir: string): Record<string, unknown> {
  const path = join(dir, 'config.json');
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new FileFormatError(path, `cannot read as JSON: ${(e as Error).message}`);
  }
}

/** The head description of a checkpoint directory, or null when it is not a finetuned one. */
export function readTaskHead(dir: string): TaskHeadInfo | null {
  recoverDir(dir);
  if (!existsSync(join(dir, 'config.json'))) return null;
  const cfg = readConfig(dir);
  const f = cfg.finetune as Record<string, unknown> | undefined;
  if (cfg.model_type !== 'gptkit-gpt' || !f) return null;
  const path = join(dir, 'config.json');
  const layout = f.layout as TaskLayout;
  if (!TASK_LAYOUTS.includes(layout)) throw new FileFormatError(path, `finetune.layout is ${JSON.stringify(f.layout)}, expected one of ${TASK_LAYOUTS.join(', ')}`);
  if (typeof f.task !== 'string' || typeof f.spec !== 'string') throw new FileFormatError(path, 'finetune.task and finetune.spec must be strings');
  const labels = f.labels === null ? null : f.labels;
  if (labels !== null && !(Array.isArray(labels) && labels.every((l) => typeof l === 'string'))) throw new FileFormatError(path, 'finetune.labels must be an array of strings or null');
  if (!Number.isInteger(f.n_classes)) throw new FileFormatError(path, `finetune.n_classes must be an integer, found ${JSON.stringify(f.n_classes)}`);
  return {
    task: f.task, spec: f.spec, layout, labels: labels as string[] | null, nClasses: f.n_classes as number,
    classifierDropout: Number(f.classifier_dropout ?? 0.1), specialTokens: TASK_TOKENS,
  };
}

/** A finetuned checkpoint's model, head included (its tokenizer is DIR/tokenizer.json). */
export function loadTaskCheckpoint(dir: string): { model: GptTaskModel; head: TaskHeadInfo; config: Record<string, unknown> } {
  const head = readTaskHead(dir);
  const cfgPath = join(dir, 'config.json');
  if (!head) throw new FileFormatError(cfgPath, 'not a finetuned checkpoint (no "finetune" section)', 'finetune a model with `gptkit finetune` first');
  const config = readConfig(dir);
  let gpt: GptConfig;
  try {
    gpt = gptConfig(config.gpt as GptConfig);
  } catch (e) {
    throw new FileFormatError(cfgPath, `field "gpt": ${(e as Error).message}`);
  }
  const model = new GptTaskModel(gpt, head.layout, head.nClasses, 1337, head.classifierDropout);
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
  return { model, head, config };
}
