// One way in for `--model PATH`: a gptkit checkpoint or a Hugging Face GPT-2 directory, each with
// its tokenizer, or a GPT-2 GGUF file (llama.cpp's format: interop/gguf-gpt2.ts). And one way out to
// the Python ecosystem: export a GPT-2-style model as a HF dir.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { GPT, gptConfig } from '../models/gpt.ts';
import { loadTokenizer, type Tokenizer } from '../tokenizer/index.ts';
import { tokenizerJsonText } from '../tokenizer/formats.ts';
import { isGptkitCheckpoint, loadCheckpoint } from './checkpoint.ts';
import { readTaskHead, loadTaskCheckpoint, type TaskHeadInfo } from './task-checkpoint.ts';
import { isHfGpt2Dir, readHfGpt2Dir, writeHfGpt2Dir, type GptShape, type ParamTensor, type HfExportOptions } from './hf-gpt2.ts';
import { isGgufFile, loadGgufGpt2 } from './gguf-gpt2.ts';
import { FileFormatError, ConfigError } from '../util/errors.ts';
import { writeFileAtomic } from '../util/fs.ts';

export interface LoadedModel {
  model: GPT;
  tokenizer: Tokenizer;
  source: 'gptkit' | 'hf-gpt2' | 'gguf';
  /** A finetuned checkpoint's task head (the model is then a GptTaskModel). */
  task?: TaskHeadInfo;
}

export function loadModel(dir: string): LoadedModel {
  if (!existsSync(dir)) throw new FileFormatError(dir, 'no such model directory');
  if (isGgufFile(dir)) {
    const { model, tokenizer } = loadGgufGpt2(dir);
    return { model, tokenizer, source: 'gguf' };
  }
  if (isGptkitCheckpoint(dir) && readTaskHead(dir)) {
    const { model, head } = loadTaskCheckpoint(dir);
    if (!existsSync(join(dir, 'tokenizer.json'))) throw new FileFormatError(dir, 'checkpoint has no tokenizer.json');
    return { model: model.eval(), tokenizer: loadTokenizer(dir), source: 'gptkit', task: head };
  }
  if (isGptkitCheckpoint(dir)) {
    const { model, tokenizerPath } = loadCheckpoint(dir);
    if (!tokenizerPath) throw new FileFormatError(dir, 'checkpoint has no tokenizer.json');
    return { model: model.eval(), tokenizer: loadTokenizer(dir), source: 'gptkit' };
  }
  if (isHfGpt2Dir(dir)) {
    const { shape, tensors } = readHfGpt2Dir(dir);
    const model = new GPT(gptConfig('gpt2', {
      vocabSize: shape.vocabSize, blockSize: shape.blockSize, nLayer: shape.nLayer, nHead: shape.nHead, nEmbd: shape.nEmbd,
      layerNormEps: shape.layerNormEps, dropout: shape.dropout.resid,
    }));
    for (const [name, p] of model.namedParameters()) {
      const t = tensors.get(name);
      if (!t) throw new FileFormatError(dir, `no tensor for parameter '${name}'`);
      p.data.set(t.data);
    }
    const hasTok = existsSync(join(dir, 'tokenizer.json')) || (existsSync(join(dir, 'vocab.json')) && existsSync(join(dir, 'merges.txt')));
    if (!hasTok) throw new FileFormatError(dir, 'Hugging Face GPT-2 directory without tokenizer.json or vocab.json + merges.txt');
    return { model: model.eval(), tokenizer: loadTokenizer(dir), source: 'hf-gpt2' };
  }
  throw new FileFormatError(join(dir, 'config.json'), "neither a gptkit checkpoint (model_type 'gptkit-gpt') nor a Hugging Face GPT-2 directory (model_type 'gpt2')");
}

/** Write a GPT-2-style gptkit model as a Hugging Face GPT-2 directory (+ tokenizer.json). */
export function exportHfGpt2(model: GPT, tokenizer: Tokenizer, dir: string, opts: HfExportOptions = {}): void {
  const c = model.config;
  if (c.norm !== 'pre' || !c.tieEmbeddings || c.attention !== 'dense' || !c.bias) {
    throw new ConfigError('only GPT-2-style models (pre-LN, tied embeddings, dense attention, biases) can be exported to the GPT-2 layout');
  }
  const shape: GptShape = {
    vocabSize: c.vocabSize, blockSize: c.blockSize, nLayer: c.nLayer, nHead: c.nHead, nEmbd: c.nEmbd, layerNormEps: c.layerNormEps,
    dropout: { resid: c.dropout, embd: c.dropout, attn: c.dropout },
  };
  const tensors = new Map<string, ParamTensor>(model.namedParameters().map(([n, t]) => [n, { shape: [...t.shape], data: t.data }]));
  let eos: number | undefined;
  try { eos = tokenizer.tokenId('<|endoftext|>'); } catch { eos = undefined; }
  writeHfGpt2Dir(dir, shape, tensors, { bosTokenId: eos, eosTokenId: eos, ...opts });
  writeFileAtomic(join(dir, 'tokenizer.json'), tokenizerJsonText(tokenizer.toSpec()));
}
