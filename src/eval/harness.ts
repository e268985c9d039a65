// The zero-, one- and few-shot harness: tasks × shot counts → metrics with standard errors, in the
// shape lm-evaluation-harness writes (results.{task}.{acc, acc_stderr, acc_norm, …}, n-shot, config).
// Multiple choice is scored by log-likelihood with the context shared across choices (score.ts);
// generative tasks decode greedily to a stop string. Contexts longer than the model's window are
// cut from the left (the oldest demonstrations go first) and counted. Progress goes out as events.
import type { GPT } from '../models/gpt.ts';
import type { Tokenizer } from '../tokenizer/index.ts';
import { generate } from '../generate/generate.ts';
import { argmax as argmaxLogits } from '../generate/sampling.ts';
import { ConfigError, FileFormatError } from '../util/errors.ts';
import type { Split } from '../world/index.ts';
import { loadTask, type Task, type TaskRecord } from './tasks.ts';
import { evalDoc, drawDemos, fewShotPrefix, GENERATION_STOP, TARGET_DELIMITER, type EvalDoc, type FewShotPool } from './prompts.ts';
import { scoreContinuations } from './score.ts';
import { choiceMetrics, exactMatch, f1Score, meanStderr } from './metrics.ts';

export interface EvalConfig {
  /** Task specs: world:NAME, a JSONL file, or a directory of {train,validation,test}.jsonl. */
  tasks: string[];
  /** Shot counts; each (task, shots) pair is evaluated and reported on its own. */
  shots: number[];
  /** Split evaluated (a single-file task is evaluated whole). */
  split: Split;
  /** At most this many items per task (0 = all), the first ones of the split. */
  limit: number;
  /** Seed for drawing demonstrations. */
  seed: number;
  /** World directory for world:NAME tasks. */
  world: string;
  /** Tokens generated at most per item of a generative task. */
  maxGenTokens: number;
  /** Prompts decoded together in a generative task. */
  batchSize: number;
}

export const defaultEvalConfig: Omit<EvalConfig, 'tasks'> = {
  shots: [0], split: 'test', limit: 0, seed: 0, world: 'runs/main/world', maxGenTokens: 64, batchSize: 16,
};

/**
 * A task head the model was finetuned with (pipeline/finetune.ts): used instead of prompting when
 * the evaluated task is the one it was trained on.
 */
export interface HeadEvaluator {
  /** Name of the task it was trained on ('entailment'). */
  task: string;
  /** The predicted class (or choice) of each record. */
  predict(task: Task, records: TaskRecord[]): number[];
}

export type TaskMetrics = Record<string, number | string>;

export interface EvalResults {
  results: Record<string, TaskMetrics>;
  versions: Record<string, number>;
  'n-shot': Record<string, number>;
  'n-samples': Record<string, { original: number; effective: number }>;
  config: Record<string, unknown>;
  total_evaluation_time_seconds: number;
}

export type EvalEvent =
  | { type: 'task'; key: string; task: string; shots: number; items: number; method: 'loglikelihood' | 'generate' | 'head' }
  | { type: 'progress'; key: string; done: number; total: number }
  | { type: 'truncated'; key: string; file: string; line: number; droppedTokens: number }
  | { type: 'warning'; message: string }
  | { type: 'result'; key: string; metrics: TaskMetrics };

export interface EvalModel {
  model: GPT;
  tokenizer: Tokenizer;
  /** Recorded in config.model (a directory or a name). */
  name: string;
  head?: HeadEvaluator;
}

/** The result key of a (task, shots) pair: the task's name, with the shot count when several are run. */
export function resultKey(name: string, shots: number, severalShots: boolean): string {
  return severalShots ? `${name}|${shots}-shot` : name;
}

function validate(cfg: EvalConfig): void {
  if (!cfg.tasks.length) throw new ConfigError('no tasks given', 'pass --tasks world:sentiment,my_task.jsonl');
  if (!cfg.shots.length || cfg.shots.some((k) => !(Number.isInteger(k) && k >= 0))) throw new ConfigError(`shots must be non-negative integers, got ${JSON.stringify(cfg.shots)}`);
  if (!(Number.isInteger(cfg.limit) && cfg.limit >= 0)) throw new ConfigError(`limit must be a non-negative integer, got ${cfg.limit}`);
  if (!(Number.isInteger(cfg.maxGenTokens) && cfg.maxGenTokens >= 1)) throw new ConfigError(`maxGenTokens must be a positive integer, got ${cfg.maxGenTokens}`);
  if (!(Number.isInteger(cfg.batchSize) && cfg.batchSize >= 1)) throw new ConfigError(`batchSize must be a positive integer, got ${cfg.batchSize}`);
  if (!['train', 'validation', 'test'].includes(cfg.split)) throw new ConfigError(`split must be train, validation or test, got '${cfg.split}'`);
}

/** Evaluate every task at every shot count. */
export function evaluate(m: EvalModel, cfgIn: Partial<EvalConfig> & { tasks: string[] }, onEvent: (e: EvalEvent) => void = () => {}): EvalResults {
  for (const k of Object.keys(cfgIn)) if (!(k in defaultEvalConfig) && k !== 'tasks') throw new ConfigError(`unknown eval option '${k}'`);
  const cfg: EvalConfig = { ...defaultEvalConfig, ...cfgIn };
  validate(cfg);
  const t0 = performance.now();
  const out: EvalResults = { results: {}, versions: {}, 'n-shot': {}, 'n-samples': {}, config: {}, total_evaluation_time_seconds: 0 };
  const several = cfg.shots.length > 1;
  const splits: Split[] = cfg.split === 'train' ? ['train'] : ['train', cfg.split];
  for (const spec of cfg.tasks) {
    const task = loadTask(spec, { world: cfg.world, splits });
    const evalRecords = task.singleFile ? task.splits.test : task.splits[cfg.split];
    if (!evalRecords) throw new FileFormatError(spec, `the task has no ${cfg.split} split`, `a task directory holds ${cfg.split}.jsonl`);
    const items = cfg.limit > 0 ? evalRecords.slice(0, cfg.limit) : evalRecords;
    const useHead = m.head !== undefined && m.head.task === task.name && task.kind !== 'generative';
    for (const shots of useHead ? [0] : cfg.shots) {
      const key = resultKey(task.name, shots, several && !useHead);
      let metrics: TaskMetrics;
      if (useHead) {
        if (several || cfg.shots[0] !== 0) onEvent({ type: 'warning', message: `${task.name}: the model's trained head answers directly; shots do not apply (evaluated once, 0-shot)` });
        onEvent({ type: 'task', key, task: task.spec, shots: 0, items: items.length, method: 'head' });
        metrics = headMetrics(m.head!, task, items);
      } else {
        const docs = items.map((r) => evalDoc(task, r));
        const poolRecords = task.splits.train && cfg.split !== 'train' ? task.splits.train : evalRecords;
        const pool: FewShotPool = { docs: shots > 0 ? poolRecords.map((r) => evalDoc(task, r)) : [], sameSplit: poolRecords === evalRecords };
        onEvent({ type: 'task', key, task: task.spec, shots, items: docs.length, method: docs[0]?.type === 'generate' ? 'generate' : 'loglikelihood' });
        const contexts = docs.map((d, i) => fewShotPrefix(pool, drawDemos(pool, d, i, shots, cfg.seed, task.name)));
        metrics = docs[0]?.type === 'generate'
          ? generativeMetrics(m, cfg, key, docs, contexts, onEvent)
          : choiceTaskMetrics(m, key, docs, contexts, onEvent);
      }
      metrics = { alias: task.name, ...metrics };
      out.results[key] = metrics;
      out.versions[key] = 1;
      out['n-shot'][key] = useHead ? 0 : shots;
      out['n-samples'][key] = { original: evalRecords.length, effective: items.length };
      onEvent({ type: 'result', key, metrics });
    }
  }
  out.config = {
    model: m.name, model_num_parameters: m.model.numParameters(), tasks: cfg.tasks, num_fewshot: cfg.shots, split: cfg.split,
    limit: cfg.limit || null, seed: cfg.seed, world: cfg.world, max_gen_toks: cfg.maxGenTokens, batch_size: cfg.batchSize,
    fewshot_delimiter: '\n\n', target_delimiter: TARGET_DELIMITER, until: GENERATION_STOP,
  };
  out.total_evaluation_time_seconds = Number(((performance.now() - t0) / 1000).toFixed(3));
  return out;
}

function eotOf(tok: Tokenizer): number[] {
  try {
    return [tok.tokenId('<|endoftext|>')];
  } catch {
    return [];
  }
}

/** Cut ids from the left to at most `keep` tokens; reports how many were dropped. */
function truncateLeft(ids: number[], keep: number, key: string, d: EvalDoc, onEvent: (e: EvalEvent) => void): { ids: number[]; truncated: boolean } {
  if (ids.length <= keep) return { ids, truncated: false };
  onEvent({ type: 'truncated', key, file: d.file, line: d.line, droppedTokens: ids.length - keep });
  return { ids: ids.slice(ids.length - keep), truncated: true };
}

function choiceTaskMetrics(m: EvalModel, key: string, docs: EvalDoc[], contexts: string[], onEvent: (e: EvalEvent) => void): TaskMetrics {
  const { model, tokenizer } = m;
  const bos = eotOf(tokenizer);
  const acc: number[] = [], accNorm: number[] = [];
  let truncated = 0;
  docs.forEach((d, i) => {
    if (d.type !== 'choice') throw new Error('unreachable: mixed document types');
    const conts = d.choices.map((c) => tokenizer.encode(TARGET_DELIMITER + c));
    const longest = Math.max(...conts.map((c) => c.length));
    const room = model.config.blockSize - (longest - 1);
    if (room < 1) throw new FileFormatError(`${d.file}:${d.line}`, `a choice of ${longest} tokens does not fit the model's context of ${model.config.blockSize}`);
    const t = truncateLeft([...bos, ...tokenizer.encode(contexts[i] + d.context)], room, key, d, onEvent);
    if (t.truncated) truncated++;
    const scores = scoreContinuations(model, t.ids, conts);
    const r = choiceMetrics(scores.map((s) => s.logprob), d.choices, d.gold);
    acc.push(r.acc);
    accNorm.push(r.acc_norm);
    onEvent({ type: 'progress', key, done: i + 1, total: docs.length });
  });
  const a = meanStderr(acc), n = meanStderr(accNorm);
  return { acc: a.mean, acc_stderr: a.stderr, acc_norm: n.mean, acc_norm_stderr: n.stderr, samples: docs.length, truncated };
}

function generativeMetrics(m: EvalModel, cfg: EvalConfig, key: string, docs: EvalDoc[], contexts: string[], onEvent: (e: EvalEvent) => void): TaskMetrics {
  const { model, tokenizer } = m;
  const bos = eotOf(tokenizer);
  const maxNew = Math.min(cfg.maxGenTokens, model.config.blockSize - 1);
  const em: number[] = [], f1: number[] = [];
  let truncated = 0;
  for (let start = 0; start < docs.length; start += cfg.batchSize) {
    const batch = docs.slice(start, start + cfg.batchSize);
    const prompts = batch.map((d, j) => {
      if (d.type !== 'generate') throw new Error('unreachable: mixed document types');
      const t = truncateLeft([...bos, ...tokenizer.encode(contexts[start + j] + d.prompt)], model.config.blockSize - maxNew, key, d, onEvent);
      if (t.truncated) truncated++;
      return t.ids;
    });
    const made: number[][] = batch.map(() => []);
    const texts: string[] = batch.map(() => '');
    generate(model, prompts, (logits) => argmaxLogits(logits), {
      maxTokens: maxNew, eosIds: bos,
      onToken: (b, tok) => {
        made[b].push(tok);
        texts[b] = tokenizer.decode(made[b]);
        return GENERATION_STOP.some((s) => texts[b].includes(s));
      },
    });
    batch.forEach((d, j) => {
      if (d.type !== 'generate') return;
      let text = texts[j];
      for (const s of GENERATION_STOP) {
        const at = text.indexOf(s);
        if (at >= 0) text = text.slice(0, at);
      }
      em.push(exactMatch(text, d.answer));
      f1.push(f1Score(text, d.answer));
    });
    onEvent({ type: 'progress', key, done: Math.min(docs.length, start + batch.length), total: docs.length });
  }
  const e = meanStderr(em), f = meanStderr(f1);
  return { exact_match: e.mean, exact_match_stderr: e.stderr, f1: f.mean, f1_stderr: f.stderr, samples: docs.length, truncated };
}

function headMetrics(head: HeadEvaluator, task: Task, items: TaskRecord[]): TaskMetrics {
  const pred = head.predict(task, items);
  const acc = items.map((r, i) => {
    const gold = r.kind === 'multiple_choice' ? r.gold : 'label' in r ? task.labels!.indexOf(r.label) : -1;
    return pred[i] === gold ? 1 : 0;
  });
  const a = meanStderr(acc);
  return { acc: a.mean, acc_stderr: a.stderr, samples: items.length, truncated: 0, method: 'head' };
}
