// `gptkit experiment gpt [--quick]`: the GPT papers' claims measured on the embedded world
// (pipeline/experiment.ts) → claims.json and report.html in --out, a verdict per claim printed.
import type { Command } from './main.ts';
import { helpText, parseFlags, type FlagSpecs } from './flags.ts';
import { runGptExperiment, type ExperimentEvent } from '../pipeline/experiment.ts';
import { runBertExperiment } from '../pipeline/experiment-bert.ts';
import { runInstructGptExperiment } from '../pipeline/experiment-instructgpt.ts';
import { backendNotice } from '../backend/index.ts';
import { fmtDuration } from './progress.ts';
import { ConfigError } from '../util/errors.ts';

const USAGE = 'gptkit experiment gpt|bert|instructgpt [--quick] [--out DIR] [--seed N] [--json]';
const SUMMARY = "gpt: measure GPT-1's finetuning claims, GPT-2's zero-shot scaling, GPT-3's few-shot and data-curation claims; bert: BERT against GPT-1 and against random init, the encoder–decoder against a decoder-only GPT on translation, beam against greedy; instructgpt: SFT, reward model, PPO-ptx, plain PPO and DPO judged by the world's labeler (RM vs labelers, win rates, honest/harmless, alignment tax) — on the embedded world; writes claims.json and report.html.";
const FLAGS: FlagSpecs = {
  out: { type: 'string', value: 'DIR', path: true, default: 'runs/experiment-gpt', help: '(bert: runs/experiment-bert, instructgpt: runs/experiment-instructgpt) where the world, models, claims.json and report.html go (new, empty, or an earlier experiment)' },
  seed: { type: 'number', range: { min: 0, int: true }, default: 0, help: 'seed of the world and of every training run' },
  quick: { type: 'boolean', help: 'the same stages at toy size (about a minute; the figures mean little)' },
  json: { type: 'boolean', help: 'print progress and the claims as JSON lines' },
};

export const experimentCommand: Command = {
  summary: "measure the GPT papers' claims on the embedded world (claims.json, report.html)",
  async run(argv) {
    const [sub, ...rest] = argv;
    if (!sub || sub === '--help' || sub === '-h') {
      console.log(helpText(USAGE, SUMMARY, FLAGS));
      return sub ? 0 : 1;
    }
    if (sub !== 'gpt' && sub !== 'bert' && sub !== 'instructgpt') throw new ConfigError(`experiment: unknown experiment '${sub}', expected 'gpt', 'bert' or 'instructgpt'`, USAGE);
    const p = parseFlags(rest, FLAGS);
    if (p.help) {
      console.log(helpText(USAGE, SUMMARY, FLAGS));
      return 0;
    }
    const v = p.values as { out: string; seed: number; quick?: boolean; json?: boolean };
    const notice = backendNotice();
    if (notice) console.error(notice);
    const t0 = performance.now();
    const onEvent = (e: ExperimentEvent) => {
      if (v.json) {
        if (e.type !== 'figure') console.log(JSON.stringify(e));
        return;
      }
      if (e.type === 'stage') console.log(`[${fmtDuration((performance.now() - t0) / 1000)}] ${e.stage}: ${e.detail}`);
      if (e.type === 'done') {
        for (const c of e.claims) console.log(`claim ${c.id} (${c.paper}): ${c.verdict} — ${c.claim}\n  ${JSON.stringify(c.figures)}`);
        console.log(`done in ${fmtDuration(e.seconds)}: ${e.out}/claims.json, ${e.out}/report.html`);
      }
    };
    if (sub === 'bert') await runBertExperiment({ out: p.given.has('out') ? v.out : 'runs/experiment-bert', seed: v.seed, quick: Boolean(v.quick) }, onEvent);
    else if (sub === 'instructgpt') await runInstructGptExperiment({ out: p.given.has('out') ? v.out : 'runs/experiment-instructgpt', seed: v.seed, quick: Boolean(v.quick) }, onEvent);
    else await runGptExperiment({ out: v.out, seed: v.seed, quick: Boolean(v.quick) }, onEvent);
    return 0;
  },
};
