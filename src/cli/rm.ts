// `gptkit rm`: flags → pipeline/rm (InstructGPT step 2).
import type { Command } from './main.ts';
import type { FlagSpecs } from './flags.ts';
import { rm, defaultRmConfig, type RmConfig, type RmEvent } from '../pipeline/rm.ts';
import { backendNotice } from '../backend/index.ts';
import { throttle, fmtDuration } from './progress.ts';
import { trainingFlags, configFromArgs, printLoopEvent, printAdded } from './rlhf-common.ts';
import { underMpi } from './rlhf-common.ts';

const d = defaultRmConfig;
export const rmFlags: FlagSpecs = {
  model: { type: 'string', value: 'DIR', path: true, help: 'the SFT model the reward model starts from' },
  data: { type: 'strings', value: 'FILE', path: true, default: d.data, help: "preferences, JSONL {\"prompt\",\"responses\",\"ranking\"} or {\"prompt\",\"chosen\",\"rejected\"}; 'world' = the world's preferences_train.jsonl" },
  'val-data': { type: 'strings', value: 'FILE', path: true, help: "held-out preferences (default: the world's preferences_validation.jsonl, else --val-fraction of --data)" },
  demos: { type: 'strings', value: 'FILE', path: true, help: "demonstrations (SFT JSONL) whose mean reward the bias sets to 0 (default: the world's sft_validation.jsonl, else the best-ranked held-out answers)" },
  out: { type: 'string', value: 'DIR', path: true, help: 'output: the reward model (best held-out accuracy, bias set), reward_report.json; out/last/ for --resume' },
  epochs: { type: 'number', range: { min: 1, int: true }, default: d.epochs, help: 'passes over the rankings (InstructGPT: 1)' },
  dropout: { type: 'number', range: { min: 0, max: 1, maxExclusive: true }, default: d.dropout, help: 'dropout while training' },
  'val-fraction': { type: 'number', range: { min: 0, max: 1, maxExclusive: true }, default: d.valFraction, help: 'held out of --data when no validation file is given' },
  ...trainingFlags(d),
};
rmFlags['batch-size'] = { ...rmFlags['batch-size'], help: 'prompts per micro-batch, each with all its K responses (InstructGPT: 64)' };

export function printRmEvent(e: RmEvent, json: boolean, tick: (force?: boolean) => boolean): void {
  switch (e.type) {
    case 'chat-tokens':
      printAdded(e.added, json);
      return;
    case 'start':
      if (json) { console.log(JSON.stringify({ ...e, config: undefined })); return; }
      console.log(`reward model: ${e.model.nLayer} layers × ${e.model.nEmbd} wide + a scalar head; backend ${e.backend} (${e.threads} threads)`);
      console.log(`data: ${e.trainPrompts} ranked prompts to train on, ${e.valPrompts} held out${e.truncated ? ` (${e.truncated} sequences cut to their end)` : ''}; ${e.steps} steps`);
      if (e.resumedFrom !== null) console.log(`resuming from step ${e.resumedFrom}`);
      return;
    case 'done': {
      if (json) { console.log(JSON.stringify(e)); return; }
      const r = e.report;
      console.log(`held-out pairwise accuracy ${(100 * r.accuracy).toFixed(1)}% over ${r.pairs} pairs${r.labelerAgreement !== null ? `; a second labeler agrees on ${(100 * r.labelerAgreement).toFixed(1)}% of them (InstructGPT: RM 69.6% vs labelers 72.6%)` : ''}`);
      console.log(`bias set: ${r.demos} demonstrations averaged ${r.demoMeanBefore.toFixed(3)}, now 0; reward model in ${e.dir}`);
      return;
    }
    default:
      printLoopEvent(e, json, tick);
  }
}

export const rmCommand: Command = {
  summary: 'train a reward model on K-wise rankings (InstructGPT step 2)',
  async run(argv) {
    const cfg = configFromArgs(argv, rmFlags, 'gptkit rm --model SFT_DIR --data world|FILE… --out DIR [options]',
      'Train a reward model (the SFT model with a scalar head) on ranked answers; all C(K,2) pairs of a prompt in one batch element.', ['model', 'out']);
    if (!cfg) return 0;
    const launched = underMpi('rm', argv, rmFlags);
    if (launched) return launched;
    const json = argv.includes('--json');
    const notice = backendNotice();
    if (notice) console.error(notice);
    const t0 = performance.now();
    const tick = throttle(json ? 0 : 2);
    await rm(cfg as Partial<RmConfig> & { model: string; out: string }, (e) => printRmEvent(e, json, tick));
    if (!json) console.log(`total time ${fmtDuration((performance.now() - t0) / 1000)}`);
    return 0;
  },
};
