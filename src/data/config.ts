// The curate config: a JSON file naming inputs, stages and the output directory. Validated
// completely before any work starts: unknown keys and wrong types are ConfigErrors naming the file
// and the key path (`stages[2].threshold`). Relative paths are relative to the config file.
//
// {
//   "seed": 0, "threads": 2, "onError": "skip",
//   "inputs": {"crawl": {"paths": ["crawl.jsonl"], "textField": "text", "idField": "id"},
//              "reference": {"paths": ["reference.jsonl"]}},
//   "curate": "crawl",
//   "stages": [
//     {"stage": "exact_dedup"},
//     {"stage": "classifier", "train": {"positive": ["reference"], "negative": ["crawl"]}, "alpha": 9},
//     {"stage": "fuzzy_dedup", "threshold": 0.7},
//     {"stage": "mix", "sources": {"crawl": 0.6, "reference": 0.4}, "budgetChars": 1000000},
//     {"stage": "shards", "tokenizer": "gpt2"}
//   ],
//   "output": "curated"
// }
import { readFileSync, existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, resolve } from 'node:path';
import { ConfigError } from '../util/errors.ts';
import type { InputFormat } from './readers.ts';
import { defaultTrainOptions } from './classifier.ts';
import { defaultMinHashParams } from './minhash.ts';

export interface InputConfig {
  paths: string[];
  format?: InputFormat;
  textField: string;
  idField: string;
  txtMode: 'file' | 'paragraph';
}

export interface ExactDedupStage {
  stage: 'exact_dedup';
}

export interface ClassifierStage {
  stage: 'classifier';
  /** Path of a saved classifier to use (instead of training one). */
  load: string | null;
  train: {
    positive: string[];
    negative: string[];
    /** Documents read from the start of each training input. */
    maxDocs: number;
    bits: number;
    epochs: number;
    learningRate: number;
    l2: number;
    /** Calibrate scores for positive-vs-unlabelled training; cross-fit two folds; feature frequency floor (classifier.ts). */
    calibrate: boolean;
    crossFit: boolean;
    minDf: number;
  } | null;
  /** Where to save the trained classifier (default OUTPUT/classifier.bin). */
  save: string | null;
  alpha: number;
}

export interface FuzzyDedupStage {
  stage: 'fuzzy_dedup';
  threshold: number;
  numPerm: number;
  ngram: number;
  /**
   * Weight of the false-negative area when choosing bands × rows (the false-positive area gets
   * 1 − this). Candidates are confirmed by their estimated Jaccard, so a false positive costs only
   * a comparison: the default favours finding every pair.
   */
  fnWeight: number;
  /** bands × rows; chosen from the threshold when not given. */
  bands: number | null;
  rows: number | null;
}

export interface MixStage {
  stage: 'mix';
  /** Input name → weight; the curated input stands for its curated documents. */
  sources: Record<string, number>;
  budgetChars: number | null;
  budgetTokens: number | null;
}

export interface ShardsStage {
  stage: 'shards';
  /** A tokenizer name or directory (loaded by the caller). */
  tokenizer: string;
  shardTokens: number;
}

export type FilterStage = ExactDedupStage | ClassifierStage | FuzzyDedupStage;
export type StageConfig = FilterStage | MixStage | ShardsStage;

export interface CurateConfig {
  seed: number;
  threads: number;
  onError: 'skip' | 'fail';
  inputs: Record<string, InputConfig>;
  curate: string;
  stages: StageConfig[];
  output: string;
}

type Obj = Record<string, unknown>;

class Checker {
  constructor(readonly file: string) {}

  fail(path: string, expected: string, found: unknown): never {
    throw new ConfigError(`${this.file}: ${path}: expected ${expected}, found ${JSON.stringify(found) ?? 'nothing'}`);
  }

  object(v: unknown, path: string, allowed: string[]): Obj {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) this.fail(path, 'an object', v);
    for (const k of Object.keys(v as Obj)) {
      if (!allowed.includes(k)) throw new ConfigError(`${this.file}: ${path ? `${path}.` : ''}${k}: unknown key (expected one of: ${allowed.join(', ')})`);
    }
    return v as Obj;
  }

  string(v: unknown, path: string): string {
    if (typeof v !== 'string' || v === '') this.fail(path, 'a non-empty string', v);
    return v as string;
  }

  number(v: unknown, path: string, lo: number, hi: number, integer = false, openLo = false): number {
    const ok = typeof v === 'number' && Number.isFinite(v) && (openLo ? v > lo : v >= lo) && v <= hi && (!integer || Number.isInteger(v));
    if (!ok) this.fail(path, `${integer ? 'an integer' : 'a number'} in ${openLo ? '(' : '['}${lo}, ${hi}]`, v);
    return v as number;
  }

  boolean(v: unknown, path: string): boolean {
    if (typeof v !== 'boolean') this.fail(path, 'true or false', v);
    return v as boolean;
  }

  strings(v: unknown, path: string): string[] {
    if (!Array.isArray(v) || v.length === 0) this.fail(path, 'a non-empty array of strings', v);
    return (v as unknown[]).map((x, i) => this.string(x, `${path}[${i}]`));
  }

  oneOf<T extends string>(v: unknown, path: string, options: readonly T[]): T {
    if (!options.includes(v as T)) this.fail(path, options.map((o) => `'${o}'`).join(' or '), v);
    return v as T;
  }
}

const MAX = Number.MAX_SAFE_INTEGER;

/** Validate a parsed config; `file` names it in errors and anchors relative paths. */
export function parseCurateConfig(raw: unknown, file: string): CurateConfig {
  const c = new Checker(file);
  const base = dirname(resolve(file));
  const top = c.object(raw, '', ['seed', 'threads', 'onError', 'inputs', 'curate', 'stages', 'output']);
  const inputsRaw = c.object(top.inputs, 'inputs', Object.keys((top.inputs ?? {}) as Obj));
  const inputs: Record<string, InputConfig> = {};
  for (const [name, v] of Object.entries(inputsRaw)) {
    const p = `inputs.${name}`;
    const o = c.object(v, p, ['paths', 'format', 'textField', 'idField', 'txtMode']);
    inputs[name] = {
      paths: c.strings(o.paths, `${p}.paths`).map((x) => resolve(base, x)),
      ...(o.format !== undefined ? { format: c.oneOf(o.format, `${p}.format`, ['txt', 'jsonl', 'parquet'] as const) } : {}),
      textField: o.textField === undefined ? 'text' : c.string(o.textField, `${p}.textField`),
      idField: o.idField === undefined ? 'id' : c.string(o.idField, `${p}.idField`),
      txtMode: o.txtMode === undefined ? 'file' : c.oneOf(o.txtMode, `${p}.txtMode`, ['file', 'paragraph'] as const),
    };
  }
  const names = Object.keys(inputs);
  if (!names.length) c.fail('inputs', 'at least one input', top.inputs);
  const curate = top.curate === undefined ? names[0] : c.oneOf(top.curate, 'curate', names);
  const inputName = (v: unknown, path: string): string => c.oneOf(v, path, names);

  if (!Array.isArray(top.stages) || top.stages.length === 0) c.fail('stages', 'a non-empty array of stages', top.stages);
  const stages: StageConfig[] = [];
  const seen = new Set<string>();
  (top.stages as unknown[]).forEach((s, i) => {
    const p = `stages[${i}]`;
    const kind = c.oneOf((s as Obj | null)?.stage, `${p}.stage`, ['exact_dedup', 'classifier', 'fuzzy_dedup', 'mix', 'shards'] as const);
    if (seen.has(kind)) throw new ConfigError(`${file}: ${p}.stage: '${kind}' appears twice; each stage runs at most once`);
    const after = stages.find((x) => x.stage === 'mix' || x.stage === 'shards');
    if (after && (kind !== 'shards' || after.stage === 'shards')) throw new ConfigError(`${file}: ${p}.stage: '${kind}' cannot come after '${after.stage}' (order: filters, then mix, then shards)`);
    seen.add(kind);
    stages.push(parseStage(c, s, p, kind, inputName, base));
  });
  return {
    seed: top.seed === undefined ? 0 : c.number(top.seed, 'seed', 0, 2 ** 32 - 1, true),
    threads: top.threads === undefined ? Math.min(availableParallelism(), 8) : c.number(top.threads, 'threads', 0, 64, true),
    onError: top.onError === undefined ? 'skip' : c.oneOf(top.onError, 'onError', ['skip', 'fail'] as const),
    inputs, curate, stages,
    output: resolve(base, top.output === undefined ? 'curated' : c.string(top.output, 'output')),
  };
}

function parseStage(c: Checker, s: unknown, p: string, kind: StageConfig['stage'], inputName: (v: unknown, path: string) => string, base: string): StageConfig {
  if (kind === 'exact_dedup') {
    c.object(s, p, ['stage']);
    return { stage: kind };
  }
  if (kind === 'classifier') {
    const o = c.object(s, p, ['stage', 'load', 'train', 'save', 'alpha']);
    if ((o.load === undefined) === (o.train === undefined)) throw new ConfigError(`${c.file}: ${p}: give exactly one of 'load' (a saved classifier) or 'train'`);
    let train: ClassifierStage['train'] = null;
    if (o.train !== undefined) {
      const t = c.object(o.train, `${p}.train`, ['positive', 'negative', 'maxDocs', 'bits', 'epochs', 'learningRate', 'l2', 'calibrate', 'crossFit', 'minDf']);
      const list = (v: unknown, path: string): string[] => c.strings(v, path).map((x, i) => inputName(x, `${path}[${i}]`));
      train = {
        positive: list(t.positive, `${p}.train.positive`),
        negative: list(t.negative, `${p}.train.negative`),
        maxDocs: t.maxDocs === undefined ? 20000 : c.number(t.maxDocs, `${p}.train.maxDocs`, 1, MAX, true),
        bits: t.bits === undefined ? 18 : c.number(t.bits, `${p}.train.bits`, 1, 30, true),
        epochs: t.epochs === undefined ? defaultTrainOptions.epochs : c.number(t.epochs, `${p}.train.epochs`, 1, 1000, true),
        learningRate: t.learningRate === undefined ? defaultTrainOptions.learningRate : c.number(t.learningRate, `${p}.train.learningRate`, 0, 100, false, true),
        l2: t.l2 === undefined ? defaultTrainOptions.l2 : c.number(t.l2, `${p}.train.l2`, 0, 100),
        calibrate: t.calibrate === undefined ? true : c.boolean(t.calibrate, `${p}.train.calibrate`),
        crossFit: t.crossFit === undefined ? true : c.boolean(t.crossFit, `${p}.train.crossFit`),
        minDf: t.minDf === undefined ? 1 : c.number(t.minDf, `${p}.train.minDf`, 1, MAX, true),
      };
    }
    return {
      stage: kind, train,
      load: o.load === undefined ? null : resolve(base, c.string(o.load, `${p}.load`)),
      save: o.save === undefined ? null : resolve(base, c.string(o.save, `${p}.save`)),
      alpha: o.alpha === undefined ? 9 : c.number(o.alpha, `${p}.alpha`, 0, 1e6, false, true),
    };
  }
  if (kind === 'fuzzy_dedup') {
    const o = c.object(s, p, ['stage', 'threshold', 'numPerm', 'ngram', 'fnWeight', 'bands', 'rows']);
    const numPerm = o.numPerm === undefined ? defaultMinHashParams.numPerm : c.number(o.numPerm, `${p}.numPerm`, 1, 1024, true);
    const bands = o.bands === undefined ? null : c.number(o.bands, `${p}.bands`, 1, numPerm, true);
    const rows = o.rows === undefined ? null : c.number(o.rows, `${p}.rows`, 1, numPerm, true);
    if ((bands === null) !== (rows === null)) throw new ConfigError(`${c.file}: ${p}: give both 'bands' and 'rows', or neither (then they are chosen from the threshold)`);
    if (bands !== null && bands * rows! > numPerm) throw new ConfigError(`${c.file}: ${p}: bands × rows = ${bands * rows!} exceeds numPerm ${numPerm}`);
    return {
      stage: kind, numPerm, bands, rows,
      threshold: o.threshold === undefined ? 0.7 : c.number(o.threshold, `${p}.threshold`, 0, 1, false, true),
      ngram: o.ngram === undefined ? defaultMinHashParams.ngram : c.number(o.ngram, `${p}.ngram`, 1, 64, true),
      fnWeight: o.fnWeight === undefined ? 0.9 : c.number(o.fnWeight, `${p}.fnWeight`, 0, 1, false, true),
    };
  }
  if (kind === 'mix') {
    const o = c.object(s, p, ['stage', 'sources', 'budgetChars', 'budgetTokens']);
    const src = c.object(o.sources, `${p}.sources`, Object.keys((o.sources ?? {}) as Obj));
    const sources: Record<string, number> = {};
    for (const [name, w] of Object.entries(src)) sources[inputName(name, `${p}.sources key`)] = c.number(w, `${p}.sources.${name}`, 0, 1e9, false, true);
    if (!Object.keys(sources).length) c.fail(`${p}.sources`, 'at least one source', o.sources);
    if ((o.budgetChars === undefined) === (o.budgetTokens === undefined)) throw new ConfigError(`${c.file}: ${p}: give exactly one of 'budgetChars' or 'budgetTokens'`);
    return {
      stage: kind, sources,
      budgetChars: o.budgetChars === undefined ? null : c.number(o.budgetChars, `${p}.budgetChars`, 1, MAX, true),
      budgetTokens: o.budgetTokens === undefined ? null : c.number(o.budgetTokens, `${p}.budgetTokens`, 1, MAX, true),
    };
  }
  const o = c.object(s, p, ['stage', 'tokenizer', 'shardTokens']);
  return {
    stage: 'shards',
    // A directory next to the config, or a built-in name such as 'gpt2'.
    tokenizer: ((t) => (existsSync(resolve(base, t)) ? resolve(base, t) : t))(c.string(o.tokenizer, `${p}.tokenizer`)),
    shardTokens: o.shardTokens === undefined ? 1 << 26 : c.number(o.shardTokens, `${p}.shardTokens`, 1, 2 ** 30, true),
  };
}

/** Read and validate a config file. */
export function loadCurateConfig(file: string): CurateConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new ConfigError(`${file}: cannot read config (${(e as Error).message})`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new ConfigError(`${file}: not valid JSON (${(e as Error).message})`);
  }
  return parseCurateConfig(raw, file);
}
