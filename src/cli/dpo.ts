// `gptkit dpo`: flags → pipeline/dpo.
import type { Command } from './main.ts';
import type { FlagSpecs } from './flags.ts';
import { dpo, defaultDpoConfig, type DpoConfig, type DpoEvent } from '../pipeline/dpo.ts';
import { backendNotice } from '../backend/index.ts';
import { throttle, fmtDuration } from './progress.ts';
import { trainingFlags, configFromArgs, printLoopEvent, printAdded } from './rlhf-common.ts';
import { underMpi } from './rlhf-common.ts';

const d = defaultDpoConfig;
export const dpoFlags: FlagSpecs = {
  model: { type: 'string', value: 'DIR', path: true, help: 'the SFT model: where the policy starts, and the frozen reference' },
  data: { type: 'strings', value: 'FILE', path: true, default: d.data, help: "preferences (K-wise rankings expand to their pairs, or chosen/rejected pairs); 'world' = the world's preferences_train.jsonl" },
  'val-data': { type: 'strings', value: 'FILE', path: true, help: "held-out preferences (default: the world's preferences_validation.jsonl, else --val-fraction of --data)" },
  out: { type: 'string', value: 'DIR', path: true, help: 'output: the policy with the best held-out DPO loss; out/last/ for --resume' },
  beta: { type: 'number', range: { min: 0, minExclusive: true }, default: d.beta, help: 'β: how far from the reference the policy may move (DPO: 0.1)' },
  epochs: { type: 'number', range: { min: 1, int: true }, default: d.epochs, help: 'passes over the pairs' },
  dropout: { type: 'number', range: { min: 0, max: 1, maxExclusive: true }, default: d.dropout, help: 'dropout while training (TRL turns it off)' },
  'val-fraction': { type: 'number', range: { min: 0, max: 1, maxExclusive: true }, default: d.valFraction, help: 'held out of --data when no validation file is given' },
  ...trainingFlags(d),
};
dpoFlags['batch-size'] = { ...dpoFlags['batch-size'], help: 'preference pairs per micro-batch' };

export function printDpoEvent(e: DpoEvent, json: boolean, tick: (force?: boolean) => boolean): void {
  switch (e.type) {
    case 'chat-tokens':
      printAdded(e.added, json);
      return;
    case 'start':
      if (json) { console.log(JSON.stringify({ ...e, config: undefined })); return; }
      console.log(`policy and frozen reference: ${e.model.nLayer} layers × ${e.model.nEmbd} wide; β ${e.config.beta}; backend ${e.backend} (${e.threads} threads)`);
      console.log(`data: ${e.trainPairs} preference pairs to train on, ${e.valPairs} held out; ${e.steps} steps`);
      if (e.resumedFrom !== null) console.log(`resuming from step ${e.resumedFrom}`);
      return;
    case 'done':
      if (json) { console.log(JSON.stringify(e)); return; }
      console.log(`done: ${e.step} steps${e.val ? `; held out: DPO loss ${e.val.loss.toFixed(4)}, the implicit reward prefers the chosen answer ${(100 * e.val.accuracy).toFixed(1)}% of the time (margin ${e.val.margin.toFixed(3)})` : ''}; model in ${e.dir}`);
      return;
    default:
      printLoopEvent(e, json, tick);
  }
}

export const dpoCommand: Command = {
  summary: 'direct preference optimisation against the SFT model (DPO)',
  async run(argv) {
    const cfg = configFromArgs(argv, dpoFlags, 'gptkit dpo --model SFT_DIR --data world|FILE… --out DIR [--beta 0.1] [options]',
      'Train the SFT model on preference pairs with the DPO loss, a frozen copy of it as the reference.', ['model', 'out']);
    if (!cfg) return 0;
    const launched = underMpi('dpo', argv, dpoFlags);
    if (launched) return launched;
    const json = argv.includes('--json');
    const notice = backendNotice();
    if (notice) console.error(notice);
    const t0 = performance.now();
    const tick = throttle(json ? 0 : 2);
    await dpo(cfg as Partial<DpoConfig> & { model: string; out: string }, (e) => printDpoEvent(e, json, tick));
    if (!json) console.log(`total time ${fmtDuration((performance.now() - t0) / 1000)}`);
    return 0;
  },
};
