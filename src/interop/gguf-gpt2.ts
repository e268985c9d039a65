// GPT-2 models ⇄ GGUF files llama.cpp loads as its `gpt2` architecture: the hyperparameters under
// `gpt2.*`, the byte-level BPE vocabulary under `tokenizer.ggml.*` (model "gpt2": tokens, token
// types — special tokens are "control" —, merges, end-of-text id), the chat template as
// `tokenizer.chat_template`, and the tensors under llama.cpp's names (`blk.N.attn_qkv.weight`, …).
// Matrices are stored as gptkit keeps them, (out, in) row-major, which ggml calls [in, out]. GPT-2
// ties its output projection to the token embedding; the file carries it as `output.weight` too
// (as llama.cpp's own converter writes it), and reading checks that the two agree.
import { existsSync, statSync } from 'node:fs';
import { GPT, gptConfig } from '../models/gpt.ts';
import { Tokenizer, TokenizerError } from '../tokenizer/bpe.ts';
import { specFromTokenList, tokenSymbols } from '../tokenizer/formats.ts';
import { ConfigError, FileFormatError } from '../util/errors.ts';
import { GgufValueType, gguf, openGguf, writeGguf, type GgmlTypeName, type GgufFile, type GgufTensorOut, type GgufValue } from './gguf.ts';

export type GgufDtype = 'F32' | 'F16' | 'BF16' | 'Q8_0';
export const GGUF_DTYPES: readonly GgufDtype[] = ['F32', 'F16', 'BF16', 'Q8_0'];
/** llama.cpp's general.file_type for each. */
// llama.cpp's llama_ftype: ALL_F32, MOSTLY_F16, MOSTLY_Q8_0, MOSTLY_BF16.
const FILE_TYPE: Record<GgufDtype, number> = { F32: 0, F16: 1, Q8_0: 7, BF16: 32 };
/** Token types of tokenizer.ggml.token_type (llama.cpp's llama_token_type). */
const NORMAL = 1, CONTROL = 3, USER_DEFINED = 4;

/** Whether a path names a GGUF file (by its magic, not its name). */
export function isGgufFile(path: string): boolean {
  if (!existsSync(path) || !statSync(path).isFile()) return false;
  try {
    openGguf(path).close();
    return true;
  } catch {
    return false;
  }
}

/** gptkit parameter → GGUF tensor name (null: not stored under its own name). */
function ggufName(name: string): string {
  const m = /^transformer\.h\.(\d+)\.(.+)$/.exec(name);
  if (m) {
    const sub: Record<string, string> = {
      'ln_1.weight': 'attn_norm.weight', 'ln_1.bias': 'attn_norm.bias', 'attn.c_attn.weight': 'attn_qkv.weight', 'attn.c_attn.bias': 'attn_qkv.bias',
      'attn.c_proj.weight': 'attn_output.weight', 'attn.c_proj.bias': 'attn_output.bias', 'ln_2.weight': 'ffn_norm.weight', 'ln_2.bias': 'ffn_norm.bias',
      'mlp.c_fc.weight': 'ffn_up.weight', 'mlp.c_fc.bias': 'ffn_up.bias', 'mlp.c_proj.weight': 'ffn_down.weight', 'mlp.c_proj.bias': 'ffn_down.bias',
    };
    const s = sub[m[2]];
    if (s) return `blk.${m[1]}.${s}`;
  }
  const top: Record<string, string> = { 'transformer.wte.weight': 'token_embd.weight', 'transformer.wpe.weight': 'position_embd.weight', 'transformer.ln_f.weight': 'output_norm.weight', 'transformer.ln_f.bias': 'output_norm.bias' };
  if (top[name]) return top[name];
  throw new ConfigError(`parameter '${name}' has no place in llama.cpp's gpt2 layout`);
}

export interface GgufExportOptions {
  dtype?: GgufDtype;
  /** A Jinja chat template to store as tokenizer.chat_template. */
  chatTemplate?: string;
  name?: string;
}

/** Write a GPT-2-style gptkit model and its tokenizer as a GGUF file. */
export function exportGguf(model: GPT, tokenizer: Tokenizer, path: string, opts: GgufExportOptions = {}): void {
  const c = model.config;
  if (c.norm !== 'pre' || !c.tieEmbeddings || c.attention !== 'dense' || !c.bias) {
    throw new ConfigError('only GPT-2-style models (pre-LN, tied embeddings, dense attention, biases) can be exported to GGUF (llama.cpp\'s gpt2)');
  }
  const dtype = opts.dtype ?? 'F32';
  if (dtype === 'Q8_0' && c.nEmbd % 32 !== 0) throw new ConfigError(`Q8_0 needs the width to be a multiple of 32 (blocks of 32), this model is ${c.nEmbd} wide`);
  const spec = tokenizer.toSpec();
  if (tokenizer.vocabSize !== c.vocabSize) throw new ConfigError(`the tokenizer has ${tokenizer.vocabSize} tokens but the model ${c.vocabSize} embeddings`);
  const symbols = tokenSymbols(spec);
  const specialIds = new Set(Object.values(spec.specialTokens));
  const eot = spec.specialTokens['<|endoftext|>'];
  const metadata: [string, GgufValue][] = [
    ['general.architecture', gguf.str('gpt2')],
    ['general.name', gguf.str(opts.name ?? 'gptkit')],
    ['general.file_type', gguf.u32(FILE_TYPE[dtype])],
    ...(dtype === 'Q8_0' ? [['general.quantization_version', gguf.u32(2)] as [string, GgufValue]] : []),
    ['gpt2.context_length', gguf.u32(c.blockSize)],
    ['gpt2.embedding_length', gguf.u32(c.nEmbd)],
    ['gpt2.feed_forward_length', gguf.u32(4 * c.nEmbd)],
    ['gpt2.block_count', gguf.u32(c.nLayer)],
    ['gpt2.attention.head_count', gguf.u32(c.nHead)],
    ['gpt2.attention.layer_norm_epsilon', gguf.f32(c.layerNormEps)],
    ['tokenizer.ggml.model', gguf.str('gpt2')],
    ['tokenizer.ggml.pre', gguf.str('gpt-2')],
    ['tokenizer.ggml.tokens', gguf.strs(symbols)],
    ['tokenizer.ggml.token_type', gguf.i32s(symbols.map((_, id) => (specialIds.has(id) ? CONTROL : NORMAL)))],
    ['tokenizer.ggml.merges', gguf.strs(spec.merges.map(([a, b]) => `${symbols[a]} ${symbols[b]}`))],
    ...(eot !== undefined ? [['tokenizer.ggml.bos_token_id', gguf.u32(eot)], ['tokenizer.ggml.eos_token_id', gguf.u32(eot)]] as [string, GgufValue][] : []),
    ['tokenizer.ggml.add_bos_token', gguf.bool(false)],
    ...(opts.chatTemplate ? [['tokenizer.chat_template', gguf.str(opts.chatTemplate)] as [string, GgufValue]] : []),
  ];
  const tensors: GgufTensorOut[] = [];
  for (const [name, p] of model.namedParameters()) {
    // Norms and biases stay F32 (as llama.cpp's converter keeps them); matrices and embeddings take the dtype.
    const type: GgmlTypeName = p.shape.length === 1 ? 'F32' : dtype;
    tensors.push({ name: ggufName(name), dims: [...p.shape].reverse(), type, values: p.data });
    if (name === 'transformer.wte.weight') tensors.push({ name: 'output.weight', dims: [...p.shape].reverse(), type, values: p.data });
  }
  writeGguf(path, metadata, tensors);
}

function num(f: GgufFile, key: string): number {
  const v = f.metadata.get(key);
  if (!v) throw new FileFormatError(f.path, `metadata "${key}" is missing`, 'is this a GPT-2 GGUF (general.architecture "gpt2")?');
  if (v.type === GgufValueType.STRING || v.type === GgufValueType.ARRAY || v.type === GgufValueType.BOOL) throw new FileFormatError(f.path, `metadata "${key}": expected a number, found a ${GgufValueType[v.type].toLowerCase()}`);
  return Number(v.value);
}

function strings(f: GgufFile, key: string): string[] {
  const v = f.metadata.get(key);
  if (!v || v.type !== GgufValueType.ARRAY || v.itemType !== GgufValueType.STRING) throw new FileFormatError(f.path, `metadata "${key}": expected an array of strings${v ? '' : ', found none'}`);
  return v.value as string[];
}

export interface LoadedGguf {
  model: GPT;
  tokenizer: Tokenizer;
  chatTemplate: string | null;
  /** Element type of the file's matrices. */
  dtype: string;
}

/** Read a GGUF GPT-2 (F32, F16, BF16 or Q8_0 tensors; dequantized to float32) and its tokenizer. */
export function loadGgufGpt2(path: string): LoadedGguf {
  const f = openGguf(path);
  try {
    const arch = f.metadata.get('general.architecture');
    if (arch?.type !== GgufValueType.STRING || arch.value !== 'gpt2') {
      throw new FileFormatError(path, `general.architecture: gptkit reads "gpt2" GGUF files, found ${arch ? JSON.stringify(arch.value) : 'none'}`);
    }
    const model_ = f.metadata.get('tokenizer.ggml.model');
    if (model_?.type !== GgufValueType.STRING || model_.value !== 'gpt2') {
      throw new FileFormatError(path, `tokenizer.ggml.model: expected "gpt2" (byte-level BPE), found ${model_ ? JSON.stringify(model_.value) : 'none'}`);
    }
    const C = num(f, 'gpt2.embedding_length'), L = num(f, 'gpt2.block_count'), H = num(f, 'gpt2.attention.head_count'), T = num(f, 'gpt2.context_length');
    const ff = num(f, 'gpt2.feed_forward_length');
    if (ff !== 4 * C) throw new FileFormatError(path, `gpt2.feed_forward_length: gptkit's GPT-2 has 4 × ${C} = ${4 * C}, found ${ff}`);
    const eps = f.metadata.has('gpt2.attention.layer_norm_epsilon') ? num(f, 'gpt2.attention.layer_norm_epsilon') : 1e-5;
    const symbols = strings(f, 'tokenizer.ggml.tokens');
    const merges = f.metadata.has('tokenizer.ggml.merges') ? strings(f, 'tokenizer.ggml.merges') : [];
    const types = f.metadata.get('tokenizer.ggml.token_type');
    const specialIds = new Set<number>();
    if (types) {
      if (types.type !== GgufValueType.ARRAY || types.value.length !== symbols.length) throw new FileFormatError(path, `tokenizer.ggml.token_type: expected one type per token (${symbols.length})`);
      types.value.forEach((t, id) => { if (t === CONTROL || t === USER_DEFINED) specialIds.add(id); });
    }
    let tokenizer: Tokenizer;
    try {
      tokenizer = new Tokenizer(specFromTokenList(symbols, merges, specialIds, path));
    } catch (e) {
      if (e instanceof TokenizerError) throw new FileFormatError(path, e.message, e.hint);
      throw e;
    }
    const model = new GPT(gptConfig('gpt2', { vocabSize: symbols.length, blockSize: T, nLayer: L, nHead: H, nEmbd: C, layerNormEps: eps, dropout: 0 }));
    const used = new Set<string>();
    for (const [name, p] of model.namedParameters()) {
      const g = ggufName(name);
      const t = f.tensors.get(g);
      if (!t) throw new FileFormatError(path, `no tensor "${g}" (for ${name})`);
      const want = [...p.shape].reverse();
      if (t.dims.length !== want.length || t.dims.some((d, i) => d !== want[i])) throw new FileFormatError(path, `tensor "${g}": expected dims [${want}], found [${t.dims}]`);
      p.data.set(f.read(g));
      used.add(g);
    }
    const out = f.tensors.get('output.weight');
    if (out) {
      // GPT-2 ties the output projection to the token embedding: an untied one would be ignored, so it is refused.
      const emb = model.namedParameters().find(([n]) => n === 'transformer.wte.weight')![1].data;
      const o = f.read('output.weight');
      let worst = 0;
      for (let i = 0; i < o.length; i++) worst = Math.max(worst, Math.abs(o[i] - emb[i]));
      if (o.length !== emb.length || worst > 1e-6) throw new FileFormatError(path, 'tensor "output.weight" differs from "token_embd.weight": gptkit\'s GPT-2 ties them');
      used.add('output.weight');
    }
    const extra = [...f.tensors.keys()].filter((n) => !used.has(n));
    if (extra.length) throw new FileFormatError(path, `tensors gptkit's GPT-2 has no place for: ${extra.slice(0, 5).join(', ')}${extra.length > 5 ? ', …' : ''}`);
    const tpl = f.metadata.get('tokenizer.chat_template');
    const matrix = f.tensors.get('token_embd.weight')!;
    return { model: model.eval(), tokenizer, chatTemplate: tpl?.type === GgufValueType.STRING ? tpl.value : null, dtype: matrix.type };
  } finally {
    f.close();
  }
}
