// `gptkit eval`: zero-, one- and few-shot evaluation of a model on the world's tasks and the
// user's JSONL tasks → a table, and lm-evaluation-harness shaped JSON (--json, --out).
import type { Command } from './main.ts';
import { parseFlags, helpText, type FlagSpecs } from './flags.ts';
import { loadModel } from '../interop/load.ts';
import { evaluate, defaultEvalConfig, type EvalConfig, type EvalEvent, type EvalResults } from '../eval/harness.ts';
import { headEvaluator } from '../eval/head.ts';
import { backendNotice } from '../backend/index.ts';
import { writeFileAtomic } from '../util/fs.ts';
import { ConfigError } from '../util/errors.ts';
import { throttle } from './progress.ts';
import { TASK_NAMES, type Split } from '../world/index.ts';

const d = defaultEvalConfig;
export const evalFlags: FlagSpecs = {
  model: { type: 'string', value: 'DIR', path: true, help: 'gptkit checkpoint (pretrained or finetuned) or Hugging Face GPT-2 directory' },
  tasks: { type: 'string', value: 'LIST', help: `comma-separated tasks: ${TASK_NAMES.map((t) => `world:${t}`).join(', ')}, a JSONL file, or a directory of {train,validation,test}.jsonl` },
  shots: { type: 'string', value: 'LIST', default: d.shots.join(','), help: 'comma-separated demonstration counts, each evaluated on its own (e.g. 0,1,4)' },
  split: { type: 'string', value: 'NAME', choices: ['train', 'validation', 'test'], default: d.split, help: 'split evaluated: train, validation or test (a single JSONL file is evaluated whole)' },
  limit: { type: 'number', range: { min: 0, int: true }, default: d.limit, help: 'evaluate at most the first N items of each task (0 = all)' },
  seed: { type: 'number', range: { int: true }, default: d.seed, help: 'seed for drawing demonstrations from the train split' },
  world: { type: 'string', value: 'DIR', path: true, default: d.world, help: 'world directory for world:NAME tasks (npx gptkit world generate --out DIR)' },
  'max-gen-tokens': { type: 'number', range: { min: 1, int: true }, default: d.maxGenTokens, help: 'generative tasks: tokens generated at most per item' },
  'batch-size': { type: 'number', range: { min: 1, int: true }, default: d.batchSize, help: 'generative tasks: prompts decoded together' },
  json: { type: 'boolean', help: 'print the results JSON instead of the table' },
  out: { type: 'string', value: 'FILE', path: true, help: 'also write the results JSON to FILE' },
};

function intList(flag: string, s: string): number[] {
  const xs = s.split(',').map((x) => x.trim()).filter(Boolean).map(Number);
  if (!xs.length || xs.some((x) => !(Number.isInteger(x) && x >= 0))) throw new ConfigError(`--${flag}: expected comma-separated non-negative integers, got '${s}'`);
  return xs;
}

/** lm-evaluation-harness's table: one row per task and metric, value ± standard error. */
export function resultsTable(r: EvalResults): string {
  const rows: string[][] = [['Tasks', 'n-shot', 'Metric', 'Value', '', 'Stderr']];
  for (const [key, m] of Object.entries(r.results)) {
    let first = true;
    for (const metric of ['acc', 'acc_norm', 'exact_match', 'f1']) {
      const v = m[metric];
      if (typeof v !== 'number') continue;
      const se = m[`${metric}_stderr`];
      rows.push([first ? key : '', first ? String(r['n-shot'][key]) : '', metric, v.toFixed(4), '±', typeof se === 'number' ? se.toFixed(4) : 'N/A']);
      first = false;
    }
  }
  const width = rows[0].map((_, c) => Math.max(...rows.map((row) => row[c].length)));
  const line = (row: string[]) => `|${row.map((x, c) => (c === 0 || c === 2 ? x.padEnd(width[c]) : x.padStart(width[c]))).join('|')}|`;
  return [line(rows[0]), `|${width.map((w) => '-'.repeat(w)).join('|')}|`, ...rows.slice(1).map(line)].join('\n');
}

export const evalCommand: Command = {
  summary: 'zero-, one- and few-shot evaluation (lm-evaluation-harness style)',
  async run(argv) {
    const p = parseFlags(argv, evalFlags);
    if (p.help) {
      console.log(helpText('gptkit eval --model DIR --tasks world:sentiment,my_task.jsonl [--shots 0,1,4] [options]', 'Score a model on tasks by log-likelihood (multiple choice) or greedy generation; a finetuned model answers its own task with its trained head.', evalFlags));
      return 0;
    }
    const v = p.values as { model?: string; tasks?: string; shots: string; split: string; limit: number; seed: number; world: string; maxGenTokens: number; batchSize: number; json?: boolean; out?: string };
    if (!v.model) throw new ConfigError('--model is required');
    if (!v.tasks) throw new ConfigError('--tasks is required', `e.g. --tasks ${TASK_NAMES.map((t) => `world:${t}`).join(',')}`);
    const cfg: Partial<EvalConfig> & { tasks: string[] } = {
      tasks: v.tasks.split(',').map((t) => t.trim()).filter(Boolean), shots: intList('shots', v.shots), split: v.split as Split,
      limit: v.limit, seed: v.seed, world: v.world, maxGenTokens: v.maxGenTokens, batchSize: v.batchSize,
    };
    const notice = backendNotice();
    if (notice) console.error(notice);
    const loaded = loadModel(v.model);
    const head = loaded.task ? headEvaluator(loaded.model, loaded.tokenizer, loaded.task) : undefined;
    const tick = throttle(v.json ? Infinity : 2);
    const onEvent = (e: EvalEvent) => {
      switch (e.type) {
        case 'task':
          if (!v.json) console.error(`${e.key}: ${e.items} items, ${e.shots}-shot, ${e.method === 'head' ? 'the trained head' : e.method}`);
          break;
        case 'progress':
          if (!v.json && tick(e.done === e.total)) console.error(`  ${e.key}: ${e.done}/${e.total}`);
          break;
        case 'truncated':
          console.error(`warning: ${e.file}:${e.line}: context longer than the model's window, ${e.droppedTokens} tokens cut from the left`);
          break;
        case 'warning':
          console.error(`warning: ${e.message}`);
          break;
        case 'result':
          break;
      }
    };
    const results = evaluate({ model: loaded.model, tokenizer: loaded.tokenizer, name: v.model, head }, cfg, onEvent);
    const json = JSON.stringify(results, null, 2) + '\n';
    if (v.out) writeFileAtomic(v.out, json);
    if (v.json) console.log(json.trimEnd());
    else {
      console.log(resultsTable(results));
      const cut = Object.entries(results.results).filter(([, m]) => Number(m.truncated) > 0);
      for (const [k, m] of cut) console.log(`${k}: ${m.truncated} of ${m.samples} contexts truncated to the model's window`);
      if (v.out) console.log(`results: ${v.out}`);
    }
    return 0;
  },
};
