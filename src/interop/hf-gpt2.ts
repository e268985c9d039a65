// Hugging Face GPT-2 directories ↔ gptkit parameter names, shapes and config.
//
// Contract:
// - gptkit's GPT-2 parameter names are HF's with the `transformer.` prefix (transformer.wte.weight,
//   transformer.h.{i}.attn.c_attn.weight, …, transformer.ln_f.bias); the LM head is tied to wte.
// - gptkit stores linear weights (out_features, in_features) like torch.nn.Linear; HF GPT-2 uses
//   Conv1D, stored (in, out). The four Conv1D weights (attn.c_attn, attn.c_proj, mlp.c_fc,
//   mlp.c_proj) are transposed on import and on export; everything else is copied.
// - Import accepts both namings found in the wild (`transformer.h.0.…` as save_pretrained writes
//   it, bare `h.0.…`/`wte.weight` as the hub's gpt2 files have it), skips the causal-mask buffers
//   (`h.N.attn.bias`, `h.N.attn.masked_bias`), accepts an `lm_head.weight` only if it equals wte,
//   reads F32/F16/BF16/F64 into float32, and reads single-file or sharded (index.json) weights.
//   Missing, unexpected, duplicated or wrongly shaped tensors are HfGpt2Errors naming the tensor.
// - Export writes config.json with HF's keys and model.safetensors the way current transformers'
//   save_pretrained does for GPT2LMHeadModel: `transformer.`-prefixed names, Conv1D layout, no
//   lm_head (tied), no mask buffers, metadata {"format": "pt"}.
import { existsSync, readFileSync } from 'node:fs';
import { join, basename } from 'node:path';
import { ConfigError, GptkitError } from '../util/errors.ts';
import { writeFileAtomic } from '../util/fs.ts';
import { openSafetensors, writeSafetensors, toFloat32, fromFloat32, type SafeTensor, type SafetensorsFile } from './safetensors.ts';

/** The shape of a GPT-2-style model, as gptkit's model config will carry it. */
export interface GptShape {
  vocabSize: number;
  /** Context length (HF n_positions). */
  blockSize: number;
  nLayer: number;
  nHead: number;
  nEmbd: number;
  layerNormEps: number;
  dropout: { resid: number; embd: number; attn: number };
}

/** A float32 parameter in gptkit's layout. */
export interface ParamTensor {
  shape: number[];
  data: Float32Array;
}

export type HfGpt2ErrorKind =
  | 'missing-file' | 'bad-config' | 'unsupported-config' | 'bad-index'
  | 'missing-tensor' | 'unexpected-tensor' | 'duplicate-tensor' | 'shape-mismatch' | 'bad-dtype' | 'untied-lm-head';

export class HfGpt2Error extends GptkitError {
  override readonly kind: HfGpt2ErrorKind;
  readonly file: string;
  constructor(kind: HfGpt2ErrorKind, file: string, message: string, hint?: string) {
    super(kind, `${file}: ${message}`, hint);
    this.kind = kind;
    this.file = file;
  }
}

export const CONFIG_FILE = 'config.json';
export const WEIGHTS_FILE = 'model.safetensors';
export const WEIGHTS_INDEX_FILE = 'model.safetensors.index.json';

/** Activation names HF uses for the tanh-approximated GELU that GPT-2 (and gptkit) uses. */
const TANH_GELU_NAMES = ['gelu_new', 'gelu_pytorch_tanh', 'gelu_fast'];

const CONV1D_SUFFIXES = ['.attn.c_attn.weight', '.attn.c_proj.weight', '.mlp.c_fc.weight', '.mlp.c_proj.weight'];

function isConv1dWeight(name: string): boolean {
  return CONV1D_SUFFIXES.some((s) => name.endsWith(s));
}

// ---------------------------------------------------------------------------------------------
// Names and shapes

function checkShape(s: GptShape): void {
  const ints: [string, number][] = [['vocabSize', s.vocabSize], ['blockSize', s.blockSize], ['nLayer', s.nLayer], ['nHead', s.nHead], ['nEmbd', s.nEmbd]];
  for (const [k, v] of ints) {
    if (!Number.isSafeInteger(v) || v <= 0) throw new ConfigError(`GptShape.${k} must be a positive integer, found ${v}`);
  }
  if (s.nEmbd % s.nHead !== 0) throw new ConfigError(`GptShape.nEmbd (${s.nEmbd}) must be divisible by nHead (${s.nHead})`);
  if (!(s.layerNormEps > 0)) throw new ConfigError(`GptShape.layerNormEps must be positive, found ${s.layerNormEps}`);
  for (const [k, v] of Object.entries(s.dropout)) {
    if (!(v >= 0 && v < 1)) throw new ConfigError(`GptShape.dropout.${k} must be in [0, 1), found ${v}`);
  }
}

/** gptkit parameter names → shapes (gptkit layout: Linear weights (out, in)), in model order. */
export function gpt2ParamShapes(s: GptShape): Map<string, number[]> {
  checkShape(s);
  const C = s.nEmbd;
  const m = new Map<string, number[]>();
  m.set('transformer.wte.weight', [s.vocabSize, C]);
  m.set('transformer.wpe.weight', [s.blockSize, C]);
  for (let i = 0; i < s.nLayer; i++) {
    const p = `transformer.h.${i}.`;
    m.set(p + 'ln_1.weight', [C]);
    m.set(p + 'ln_1.bias', [C]);
    m.set(p + 'attn.c_attn.weight', [3 * C, C]);
    m.set(p + 'attn.c_attn.bias', [3 * C]);
    m.set(p + 'attn.c_proj.weight', [C, C]);
    m.set(p + 'attn.c_proj.bias', [C]);
    m.set(p + 'ln_2.weight', [C]);
    m.set(p + 'ln_2.bias', [C]);
    m.set(p + 'mlp.c_fc.weight', [4 * C, C]);
    m.set(p + 'mlp.c_fc.bias', [4 * C]);
    m.set(p + 'mlp.c_proj.weight', [C, 4 * C]);
    m.set(p + 'mlp.c_proj.bias', [C]);
  }
  m.set('transformer.ln_f.weight', [C]);
  m.set('transformer.ln_f.bias', [C]);
  return m;
}

/** The shape a gptkit parameter has in HF's file (Conv1D weights are transposed). */
function hfShapeOf(name: string, gptkitShape: number[]): number[] {
  return isConv1dWeight(name) ? [gptkitShape[1], gptkitShape[0]] : gptkitShape;
}

/** (rows, cols) row-major → (cols, rows) row-major, in cache-sized tiles. */
export function transpose2d(src: Float32Array, rows: number, cols: number): Float32Array {
  const dst = new Float32Array(rows * cols);
  const B = 32;
  for (let r0 = 0; r0 < rows; r0 += B) {
    const r1 = Math.min(rows, r0 + B);
    for (let c0 = 0; c0 < cols; c0 += B) {
      const c1 = Math.min(cols, c0 + B);
      for (let r = r0; r < r1; r++) {
        for (let c = c0; c < c1; c++) dst[c * rows + r] = src[r * cols + c];
      }
    }
  }
  return dst;
}

const sameShape = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((x, i) => x === b[i]);

// ---------------------------------------------------------------------------------------------
// config.json

type Json = Record<string, unknown>;

function field(cfg: Json, file: string, key: string, check: (v: unknown) => boolean, expected: string, fallback?: unknown): unknown {
  const v = key in cfg ? cfg[key] : fallback;
  if (v === undefined) throw new HfGpt2Error('bad-config', file, `missing field "${key}" (expected ${expected})`);
  if (!check(v)) throw new HfGpt2Error('bad-config', file, `field "${key}" must be ${expected}, found ${JSON.stringify(v)}`);
  return v;
}

const isPosInt = (v: unknown) => typeof v === 'number' && Number.isSafeInteger(v) && v > 0;
const isProb = (v: unknown) => typeof v === 'number' && v >= 0 && v < 1;
const isPosNum = (v: unknown) => typeof v === 'number' && v > 0;

function unsupported(file: string, key: string, found: unknown, why: string): HfGpt2Error {
  return new HfGpt2Error('unsupported-config', file, `"${key}": ${JSON.stringify(found)} is not supported: ${why}`);
}

/** Map an HF GPT2Config (parsed config.json) to a GptShape; HF's defaults fill absent optional keys. */
export function hfConfigToShape(json: unknown, file: string = CONFIG_FILE): GptShape {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new HfGpt2Error('bad-config', file, `expected a JSON object, found ${JSON.stringify(json)}`);
  }
  const cfg = json as Json;
  if ('model_type' in cfg && cfg.model_type !== 'gpt2') {
    throw unsupported(file, 'model_type', cfg.model_type, 'only "gpt2" directories can be read here');
  }
  const act = cfg.activation_function ?? 'gelu_new';
  if (!TANH_GELU_NAMES.includes(act as string)) {
    throw unsupported(file, 'activation_function', act, `gptkit's GPT-2 uses the tanh GELU (${TANH_GELU_NAMES.join(', ')})`);
  }
  const nEmbd = field(cfg, file, 'n_embd', isPosInt, 'a positive integer') as number;
  const nHead = field(cfg, file, 'n_head', isPosInt, 'a positive integer') as number;
  if (nEmbd % nHead !== 0) throw new HfGpt2Error('bad-config', file, `"n_embd" (${nEmbd}) must be divisible by "n_head" (${nHead})`);
  if (cfg.n_inner !== undefined && cfg.n_inner !== null && cfg.n_inner !== 4 * nEmbd) {
    throw unsupported(file, 'n_inner', cfg.n_inner, `gptkit's MLP width is 4 × n_embd = ${4 * nEmbd}`);
  }
  if (cfg.scale_attn_weights === false) throw unsupported(file, 'scale_attn_weights', false, 'gptkit always scales attention by 1/√head_dim');
  if (cfg.scale_attn_by_inverse_layer_idx === true) throw unsupported(file, 'scale_attn_by_inverse_layer_idx', true, 'gptkit does not scale attention by layer');
  if (cfg.add_cross_attention === true) throw unsupported(file, 'add_cross_attention', true, 'gptkit\'s GPT is decoder-only');
  const blockSize = field(cfg, file, 'n_positions', isPosInt, 'a positive integer', cfg.n_ctx) as number;
  return {
    vocabSize: field(cfg, file, 'vocab_size', isPosInt, 'a positive integer') as number,
    blockSize,
    nLayer: field(cfg, file, 'n_layer', isPosInt, 'a positive integer') as number,
    nHead,
    nEmbd,
    layerNormEps: field(cfg, file, 'layer_norm_epsilon', isPosNum, 'a positive number', 1e-5) as number,
    dropout: {
      resid: field(cfg, file, 'resid_pdrop', isProb, 'a probability in [0, 1)', 0.1) as number,
      embd: field(cfg, file, 'embd_pdrop', isProb, 'a probability in [0, 1)', 0.1) as number,
      attn: field(cfg, file, 'attn_pdrop', isProb, 'a probability in [0, 1)', 0.1) as number,
    },
  };
}

export interface HfExportOptions {
  /** Element type of the exported weights (default F32). */
  dtype?: 'F32' | 'F16' | 'BF16';
  /** Written as bos_token_id / eos_token_id when given (HF's generate() reads them). */
  bosTokenId?: number;
  eosTokenId?: number;
}

const TORCH_DTYPE = { F32: 'float32', F16: 'float16', BF16: 'bfloat16' } as const;

/** A GptShape as HF's GPT2Config JSON (keys sorted, as HF writes them). */
export function shapeToHfConfig(s: GptShape, opts: HfExportOptions = {}): Json {
  checkShape(s);
  const cfg: Json = {
    activation_function: 'gelu_new',
    architectures: ['GPT2LMHeadModel'],
    attn_pdrop: s.dropout.attn,
    embd_pdrop: s.dropout.embd,
    initializer_range: 0.02,
    layer_norm_epsilon: s.layerNormEps,
    model_type: 'gpt2',
    n_ctx: s.blockSize, // older transformers read n_ctx; current ones n_positions
    n_embd: s.nEmbd,
    n_head: s.nHead,
    n_inner: null,
    n_layer: s.nLayer,
    n_positions: s.blockSize,
    reorder_and_upcast_attn: false,
    resid_pdrop: s.dropout.resid,
    scale_attn_by_inverse_layer_idx: false,
    scale_attn_weights: true,
    tie_word_embeddings: true,
    torch_dtype: TORCH_DTYPE[opts.dtype ?? 'F32'],
    use_cache: true,
    vocab_size: s.vocabSize,
  };
  if (opts.bosTokenId !== undefined) cfg.bos_token_id = opts.bosTokenId;
  if (opts.eosTokenId !== undefined) cfg.eos_token_id = opts.eosTokenId;
  return Object.fromEntries(Object.entries(cfg).sort(([a], [b]) => (a < b ? -1 : 1)));
}

function readJson(path: string): unknown {
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new HfGpt2Error('bad-config', path, `cannot read JSON: ${(e as Error).message}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Directory detection and import

/** True when `dir` looks like an HF GPT-2 directory: a gpt2 config.json and safetensors weights. */
export function isHfGpt2Dir(dir: string): boolean {
  const cfgPath = join(dir, CONFIG_FILE);
  if (!existsSync(cfgPath)) return false;
  if (!existsSync(join(dir, WEIGHTS_FILE)) && !existsSync(join(dir, WEIGHTS_INDEX_FILE))) return false;
  try {
    const cfg = JSON.parse(readFileSync(cfgPath, 'utf8')) as Json;
    const archs = Array.isArray(cfg.architectures) ? cfg.architectures : [];
    return cfg.model_type === 'gpt2' || archs.some((a) => typeof a === 'string' && a.startsWith('GPT2'));
  } catch {
    return false;
  }
}

/** The safetensors files holding the weights: model.safetensors, or the shards an index lists. */
function weightFiles(dir: string): string[] {
  if (existsSync(join(dir, WEIGHTS_FILE))) return [join(dir, WEIGHTS_FILE)];
  const indexPath = join(dir, WEIGHTS_INDEX_FILE);
  if (!existsSync(indexPath)) {
    const bin = existsSync(join(dir, 'pytorch_model.bin'));
    throw new HfGpt2Error('missing-file', dir, `no ${WEIGHTS_FILE} or ${WEIGHTS_INDEX_FILE}${bin ? ' (found pytorch_model.bin)' : ''}`,
      bin ? 'gptkit reads safetensors only (pickle files can run code): convert with save_pretrained(dir, safe_serialization=True)' : undefined);
  }
  const index = readJson(indexPath) as Json;
  const map = index?.weight_map;
  if (typeof map !== 'object' || map === null || Array.isArray(map)) {
    throw new HfGpt2Error('bad-index', indexPath, `expected {"weight_map": {tensor: file}}, found ${JSON.stringify(index)}`);
  }
  const files = new Set<string>();
  for (const [name, f] of Object.entries(map)) {
    // Shards must sit in the directory itself: no paths, so an index cannot point anywhere else.
    if (typeof f !== 'string' || f !== basename(f) || f === '..' || !f.endsWith('.safetensors')) {
      throw new HfGpt2Error('bad-index', indexPath, `weight_map["${name}"] must be a .safetensors file name in the same directory, found ${JSON.stringify(f)}`);
    }
    files.add(f);
  }
  return [...files].sort().map((f) => join(dir, f));
}

/** HF tensor name → gptkit name, or null for buffers that are not parameters. */
function gptkitNameOf(hfName: string): string | null {
  const bare = hfName.startsWith('transformer.') ? hfName.slice('transformer.'.length) : hfName;
  if (/^h\.\d+\.attn\.(bias|masked_bias)$/.test(bare)) return null;
  if (bare === 'lm_head.weight') return 'lm_head.weight';
  return 'transformer.' + bare;
}

function readFloat(file: SafetensorsFile, name: string): SafeTensor & { data: Float32Array } {
  const info = file.entries.find((e) => e.name === name)!;
  if (!['F32', 'F16', 'BF16', 'F64'].includes(info.dtype)) {
    throw new HfGpt2Error('bad-dtype', file.path, `tensor "${name}" is ${info.dtype}; expected a float dtype (F32, F16, BF16 or F64)`);
  }
  const t = file.read(name);
  return { dtype: 'F32', shape: t.shape, data: toFloat32(t) };
}

/** Read an HF GPT-2 directory into a GptShape and gptkit-named float32 parameters. */
export function readHfGpt2Dir(dir: string): { shape: GptShape; tensors: Map<string, ParamTensor> } {
  const cfgPath = join(dir, CONFIG_FILE);
  if (!existsSync(cfgPath)) throw new HfGpt2Error('missing-file', dir, `no ${CONFIG_FILE}`);
  const shape = hfConfigToShape(readJson(cfgPath), cfgPath);
  const expected = gpt2ParamShapes(shape);
  const found = new Map<string, ParamTensor>();
  const origin = new Map<string, string>(); // gptkit name → "file: hf name", for duplicate messages
  let lmHead: { where: string; t: ParamTensor } | null = null;

  for (const path of weightFiles(dir)) {
    const file = openSafetensors(path);
    try {
      for (const { name: hfName, shape: hfShape } of file.entries) {
        const name = gptkitNameOf(hfName);
        if (name === null) continue;
        const where = `${path}: tensor "${hfName}"`;
        if (origin.has(name)) {
          throw new HfGpt2Error('duplicate-tensor', path, `tensor "${hfName}" is the same parameter as ${origin.get(name)}`,
            'a file should use either the transformer.-prefixed or the bare names, not both');
        }
        origin.set(name, where);
        if (name === 'lm_head.weight') {
          const t = readFloat(file, hfName);
          lmHead = { where, t: { shape: t.shape, data: t.data } };
          continue;
        }
        const want = expected.get(name);
        if (!want) {
          throw new HfGpt2Error('unexpected-tensor', path, `tensor "${hfName}" is not a parameter of a GPT-2 with n_layer=${shape.nLayer}`,
            'does config.json match these weights?');
        }
        const wantHf = hfShapeOf(name, want);
        if (!sameShape(hfShape, wantHf)) {
          const transposed = isConv1dWeight(name) && sameShape(hfShape, want);
          throw new HfGpt2Error('shape-mismatch', path, `tensor "${hfName}": expected shape [${wantHf}]${isConv1dWeight(name) ? ' (Conv1D layout: in, out)' : ''}, found [${hfShape}]`,
            transposed ? 'this is the (out, in) Linear layout; HF GPT-2 files store Conv1D weights as (in, out)' : 'does config.json match these weights?');
        }
        const t = readFloat(file, hfName);
        const data = isConv1dWeight(name) ? transpose2d(t.data, wantHf[0], wantHf[1]) : t.data;
        found.set(name, { shape: want.slice(), data });
      }
    } finally {
      file.close();
    }
  }

  const missing = [...expected.keys()].filter((n) => !found.has(n));
  if (missing.length > 0) {
    const shown = missing.slice(0, 5).map((n) => `"${n}"`).join(', ');
    throw new HfGpt2Error('missing-tensor', dir, `${missing.length} parameter(s) missing from the weights: ${shown}${missing.length > 5 ? ', …' : ''}`);
  }
  if (lmHead) checkTiedHead(lmHead.where, lmHead.t, found.get('transformer.wte.weight')!);
  const tensors = new Map<string, ParamTensor>();
  for (const name of expected.keys()) tensors.set(name, found.get(name)!);
  return { shape, tensors };
}

function checkTiedHead(where: string, head: ParamTensor, wte: ParamTensor): void {
  if (!sameShape(head.shape, wte.shape)) {
    throw new HfGpt2Error('untied-lm-head', where, `shape [${head.shape}] differs from wte [${wte.shape}]; gptkit's GPT-2 ties lm_head to wte`);
  }
  for (let i = 0; i < head.data.length; i++) {
    if (!Object.is(head.data[i], wte.data[i])) {
      throw new HfGpt2Error('untied-lm-head', where, `differs from wte.weight at element ${i} (${head.data[i]} vs ${wte.data[i]}); gptkit's GPT-2 ties lm_head to wte`,
        'a model with an untied output head cannot be loaded as GPT-2');
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Export

/**
 * Write `dir/config.json` and `dir/model.safetensors` in HF's GPT-2 layout, each file atomically.
 * Other files in `dir` (a tokenizer, a trainer state) are left alone.
 */
export function writeHfGpt2Dir(dir: string, shape: GptShape, tensors: Map<string, ParamTensor>, opts: HfExportOptions = {}): void {
  const expected = gpt2ParamShapes(shape);
  const where = `writeHfGpt2Dir(${dir})`;
  for (const name of tensors.keys()) {
    if (!expected.has(name)) throw new HfGpt2Error('unexpected-tensor', where, `tensor "${name}" is not a parameter of this GPT-2 shape`);
  }
  const dtype = opts.dtype ?? 'F32';
  const out = new Map<string, SafeTensor>();
  for (const [name, want] of expected) {
    const t = tensors.get(name);
    if (!t) throw new HfGpt2Error('missing-tensor', where, `parameter "${name}" is missing`);
    const n = want.reduce((a, b) => a * b, 1);
    if (!sameShape(t.shape, want) || t.data.length !== n) {
      throw new HfGpt2Error('shape-mismatch', where, `tensor "${name}": expected shape [${want}], found [${t.shape}] with ${t.data.length} values`);
    }
    const hfShape = hfShapeOf(name, want);
    const values = isConv1dWeight(name) ? transpose2d(t.data, want[0], want[1]) : t.data;
    out.set(name, dtype === 'F32'
      ? { dtype, shape: hfShape, data: values }
      : { dtype, shape: hfShape, data: fromFloat32(values, dtype) });
  }
  writeSafetensors(join(dir, WEIGHTS_FILE), out, { format: 'pt' });
  writeFileAtomic(join(dir, CONFIG_FILE), JSON.stringify(shapeToHfConfig(shape, opts), null, 2) + '\n');
}
