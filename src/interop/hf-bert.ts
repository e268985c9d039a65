// BERT checkpoint directories in Hugging Face's own layout, so gptkit's BERT checkpoints are
// BertForPreTraining directories transformers loads, and a transformers BERT directory loads here:
//   DIR/config.json        HF BertConfig keys ("model_type": "bert", "architectures": ["BertForPreTraining"])
//                          plus gptkit's "training" settings (and "finetune" head) when gptkit wrote it
//   DIR/model.safetensors  HF names (`bert.encoder.layer.0.attention.self.query.weight`, Linear (out, in));
//                          a finetuned model adds `classifier.weight`/`classifier.bias` (HF's BertFor… heads)
//   DIR/tokenizer.json + vocab.txt   WordPiece
//   DIR/trainer_state/     as a GPT checkpoint's (interop/module-state.ts)
// Reading accepts BertModel files (bare `embeddings.…` names, no heads: the heads keep their init and
// `heads` says so), skips the tied decoder copies and position-id buffers, and refuses missing,
// unexpected or wrongly shaped tensors by name.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readSafetensors, writeSafetensors, type SafeTensor } from './safetensors.ts';
import { writeTrainerState, readTrainerState, loadParams } from './module-state.ts';
import { recoverDir } from '../util/fs.ts';
import { OutputDir, asOutput } from '../util/output.ts';
import { FileFormatError } from '../util/errors.ts';
import { BertForPreTraining, bertConfig, type BertConfig } from '../models/bert.ts';
import { loadWordPiece, type WordPieceTokenizer } from '../tokenizer/wordpiece.ts';
import type { TrainerState } from './checkpoint.ts';
import type { Tensor } from '../tensor/tensor.ts';
import type { Module } from '../nn/module.ts';

export function bertConfigToHf(c: BertConfig): Record<string, unknown> {
  return {
    architectures: ['BertForPreTraining'], model_type: 'bert',
    vocab_size: c.vocabSize, hidden_size: c.nEmbd, num_hidden_layers: c.nLayer, num_attention_heads: c.nHead,
    intermediate_size: c.intermediateSize, max_position_embeddings: c.blockSize, type_vocab_size: c.typeVocabSize,
    hidden_act: c.hiddenAct, hidden_dropout_prob: c.dropout, attention_probs_dropout_prob: c.dropout,
    layer_norm_eps: c.layerNormEps, initializer_range: 0.02, pad_token_id: 0, tie_word_embeddings: true,
  };
}

export function hfToBertConfig(j: Record<string, unknown>, file: string): BertConfig {
  const num = (k: string, dflt?: number): number => {
    const v = j[k] ?? dflt;
    if (typeof v !== 'number') throw new FileFormatError(file, `"${k}" must be a number, found ${JSON.stringify(j[k])}`);
    return v;
  };
  const act = j.hidden_act ?? 'gelu';
  if (act !== 'gelu' && act !== 'gelu_new') throw new FileFormatError(file, `"hidden_act" is ${JSON.stringify(act)}; gptkit's BERT supports "gelu" and "gelu_new"`);
  if (j.position_embedding_type !== undefined && j.position_embedding_type !== 'absolute') throw new FileFormatError(file, `"position_embedding_type" ${JSON.stringify(j.position_embedding_type)} is not supported (absolute only)`);
  try {
    return bertConfig({
      vocabSize: num('vocab_size'), nEmbd: num('hidden_size'), nLayer: num('num_hidden_layers'), nHead: num('num_attention_heads'),
      intermediateSize: num('intermediate_size'), blockSize: num('max_position_embeddings', 512), typeVocabSize: num('type_vocab_size', 2),
      hiddenAct: act, dropout: num('hidden_dropout_prob', 0.1), layerNormEps: num('layer_norm_eps', 1e-12),
    });
  } catch (e) {
    throw new FileFormatError(file, (e as Error).message);
  }
}

function readJson(path: string): Record<string, unknown> {
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new FileFormatError(path, `cannot read as JSON: ${(e as Error).message}`);
  }
}

/** Whether DIR holds a BERT checkpoint (config.json's model_type "bert"), gptkit's or Hugging Face's. */
export function isBertDir(dir: string): boolean {
  recoverDir(dir);
  if (existsSync(dir)) OutputDir.recover(dir);
  const p = join(dir, 'config.json');
  if (!existsSync(p)) return false;
  try {
    return JSON.parse(readFileSync(p, 'utf8')).model_type === 'bert';
  } catch {
    return false;
  }
}

/** Tensors HF files may hold that are not parameters here (tied copies, buffers). */
const SKIPPED = /(^|\.)position_ids$|^cls\.predictions\.decoder\.(weight|bias)$/;

export interface LoadedBert {
  model: BertForPreTraining;
  tokenizer: WordPieceTokenizer;
  /** config.json as read (with gptkit's own "training" / "finetune" fields when it wrote them). */
  config: Record<string, unknown>;
  /** 'loaded' from the file, or 'initialised' (a BertModel file has no MLM/NSP heads). */
  heads: 'loaded' | 'initialised';
  /** Tensors the file has beyond BertForPreTraining's (a finetuned head: `classifier.weight`, …), by name. */
  rest: Map<string, SafeTensor>;
}

/** A BERT directory (gptkit's or a transformers BertForPreTraining / BertModel one) with its WordPiece tokenizer. */
export function loadBertDir(dir: string, seed = 1337): LoadedBert {
  if (!isBertDir(dir)) throw new FileFormatError(join(dir, 'config.json'), 'not a BERT directory (model_type "bert")');
  const cfgPath = join(dir, 'config.json');
  const config = readJson(cfgPath);
  const model = new BertForPreTraining(hfToBertConfig(config, cfgPath), seed);
  const weights = join(dir, 'model.safetensors');
  if (!existsSync(weights)) throw new FileFormatError(weights, 'no such file', 'gptkit reads safetensors weights (save_pretrained writes them by default)');
  const { tensors } = readSafetensors(weights);
  for (const k of [...tensors.keys()]) {
    if (SKIPPED.test(k)) tensors.delete(k);
    else if (!k.startsWith('bert.') && !k.startsWith('cls.') && /^(embeddings|encoder|pooler)\./.test(k)) {
      tensors.set('bert.' + k, tensors.get(k)!); // a BertModel file's bare names
      tensors.delete(k);
    }
  }
  const missing = loadParams(model, tensors, weights, (n) => n.startsWith('cls.'));
  if (missing.size && missing.size !== model.cls.namedParameters().length) throw new FileFormatError(weights, `missing tensor '${[...missing][0]}'`);
  return { model, tokenizer: loadWordPiece(dir), config, heads: missing.size ? 'initialised' : 'loaded', rest: tensors };
}

export interface BertSaveOptions {
  /** More config.json fields (gptkit's "training", "finetune"; transformers keeps unknown keys as attributes). */
  extra?: Record<string, unknown>;
  /** More tensors (a task head) saved beside the model's. */
  extraTensors?: [string, Tensor][];
  trainerState?: TrainerState;
  trainerExtra?: Record<string, unknown>;
  /** The module whose named parameters the trainer state's moments follow (default: the model). */
  stateModule?: Module;
}

/** Write a BERT checkpoint (one transaction of util/output.ts). */
export function saveBertDir(dir: string | OutputDir, model: BertForPreTraining, tokenizer: WordPieceTokenizer, opts: BertSaveOptions = {}): void {
  asOutput(dir, 'checkpoint').commitSync((tmp) => writeBertFiles(tmp, model, tokenizer, opts));
}

/** The files of a BERT directory, written into `tmp` (a transaction's staging folder). */
export function writeBertFiles(tmp: string, model: BertForPreTraining, tokenizer: WordPieceTokenizer, opts: BertSaveOptions = {}): void {
  writeFileSync(join(tmp, 'config.json'), JSON.stringify({ ...bertConfigToHf(model.config), ...opts.extra }, null, 2) + '\n');
  const named = [...model.namedParameters(), ...(opts.extraTensors ?? [])];
  writeSafetensors(join(tmp, 'model.safetensors'), new Map(named.map(([n, t]) => [n, { dtype: 'F32' as const, shape: [...t.shape], data: t.data }])), { format: 'pt' });
  tokenizer.save(tmp);
  if (opts.trainerState) writeTrainerState(tmp, opts.stateModule ?? model, opts.trainerState, opts.trainerExtra);
}

/** A BERT checkpoint's trainer state, moments in the order of `module.namedParameters()`. */
export const loadBertTrainerState = readTrainerState;
