// `gptkit judge`: flags → pipeline/judge (the world's labeler compares two models' answers).
import type { Command } from './main.ts';
import type { FlagSpecs } from './flags.ts';
import { judgeModels, defaultJudgeConfig, type JudgeConfig, type ModelRates } from '../pipeline/judge.ts';
import { configFromArgs } from './rlhf-common.ts';

const d = defaultJudgeConfig;
export const judgeFlags: FlagSpecs = {
  config: { type: 'string', value: 'FILE', help: 'JSON file of options (keys as these flags); flags given here win' },
  model: { type: 'string', value: 'DIR', path: true, help: 'the chat model judged (answers through its chat template)' },
  baseline: { type: 'string', value: 'DIR', path: true, help: 'the model it is compared with' },
  'baseline-shots': { type: 'number', range: { min: 0, int: true }, default: d.baselineShots, help: 'prompt the baseline few-shot with N plain-text demonstrations (0 = it is a chat model too)' },
  prompts: { type: 'strings', value: 'FILE', path: true, default: d.prompts, help: "held-out prompts: 'world:test', 'world:validation', or JSONL files" },
  world: { type: 'string', value: 'DIR', path: true, default: d.world, help: 'the generated world whose labeler judges' },
  limit: { type: 'number', range: { min: 0, int: true }, default: d.limit, help: 'judge only the first N prompts (0 = all)' },
  'max-tokens': { type: 'number', range: { min: 1, int: true }, default: d.maxTokens, help: 'longest answer' },
  temperature: { type: 'number', range: { min: 0 }, default: d.temperature, help: 'sampling temperature (0 = greedy)' },
  'batch-size': { type: 'number', range: { min: 1, int: true }, default: d.batchSize, help: 'prompts answered together' },
  seed: { type: 'number', range: { min: 0, int: true }, default: d.seed, help: 'sampling seed' },
  json: { type: 'boolean', help: 'print the report as JSON' },
};

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
const row = (name: string, r: ModelRates) => `  ${name.padEnd(9)} follows ${pct(r.follows).padStart(6)} | honest ${pct(r.honest).padStart(6)} | harmless ${pct(r.harmless).padStart(6)} | score ${r.meanScore.toFixed(2)} | ${r.words.toFixed(1)} words`;

export const judgeCommand: Command = {
  summary: "compare two models' answers with the world's labeler (win rate, honesty, harmlessness)",
  async run(argv) {
    const cfg = configFromArgs(argv, judgeFlags, 'gptkit judge --model DIR --baseline DIR [--baseline-shots 4] [--prompts world:test] [--json]',
      "Both models answer held-out prompts; the world's labeler scores each answer and picks the better one.", ['model', 'baseline']);
    if (!cfg) return 0;
    delete cfg.resume;
    delete cfg.force;
    const json = argv.includes('--json');
    const report = await judgeModels(cfg as Partial<JudgeConfig> & { model: string; baseline: string }, (e) => { if (!json) console.error(`${e.who}: ${e.done}/${e.total} answered`); });
    if (json) { console.log(JSON.stringify(report)); return 0; }
    console.log(`${report.prompts} prompts: --model wins ${pct(report.winRate)} ± ${pct(report.stderr)} (${report.wins} wins, ${report.ties} ties, ${report.losses} losses)`);
    console.log(row('model', report.model));
    console.log(row('baseline', report.baseline));
    return 0;
  },
};
