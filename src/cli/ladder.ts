// `gptkit ladder` (what `npm start` runs): the whole ladder on the embedded world, with progress.
import type { Command } from './main.ts';
import { parseFlags, helpText, type FlagSpecs } from './flags.ts';
import { runLadder, defaultLadderConfig, ladderRanges as R, type LadderConfig } from '../pipeline/ladder.ts';
import { printPretrainEvent } from './pretrain.ts';
import { backendNotice } from '../backend/index.ts';
import { throttle, fmtDuration } from './progress.ts';

const d = defaultLadderConfig;
const flags: FlagSpecs = {
  out: { type: 'string', value: 'DIR', default: d.out, help: 'where every stage writes (world/, tokenizer/, gpt/, summary.json): new, empty, or an earlier ladder run' },
  seed: { type: 'number', default: d.seed, range: R.seed, help: 'seed of the world and of training' },
  'world-size': { type: 'string', value: 'small|medium|large', default: d.worldSize, choices: ['small', 'medium', 'large'], help: 'size of the generated world' },
  'vocab-size': { type: 'number', default: d.vocabSize, range: R.vocabSize, help: 'BPE vocabulary size' },
  preset: { type: 'string', value: 'NAME', default: d.preset, help: 'GPT preset to pretrain' },
  steps: { type: 'number', default: d.steps, range: R.steps, help: 'pretraining steps' },
  'batch-size': { type: 'number', default: d.batchSize, range: R.batchSize, help: 'pretraining batch size' },
  lr: { type: 'number', default: d.lr, range: R.lr, help: 'peak pretraining learning rate' },
  fresh: { type: 'boolean', help: 'recompute every stage even when its output exists (a stage whose settings changed is rebuilt anyway)' },
};

export const ladderCommand: Command = {
  summary: 'the main job: the whole ladder on the embedded world (npm start)',
  async run(argv) {
    const p = parseFlags(argv, flags);
    if (p.help) {
      console.log(helpText('gptkit ladder [options]', 'Run the ladder on the embedded world: world → tokenizer → GPT pretraining → samples.', flags));
      return 0;
    }
    const v = p.values as unknown as LadderConfig;
    const notice = backendNotice();
    if (notice) console.error(notice);
    const tick = throttle(2);
    const summary = await runLadder({ ...v, fresh: Boolean(v.fresh) }, (e) => {
      switch (e.type) {
        case 'stage': console.log(`\n== ${e.stage}: ${e.detail}`); break;
        case 'world': if (tick()) console.log(`  world: ${JSON.stringify(e.progress)}`); break;
        case 'tokenizer':
          if (tick(e.progress.phase === 'merge' && e.progress.merges === e.progress.total)) {
            console.log(e.progress.phase === 'count' ? `  counting pre-tokens: ${e.progress.chars} chars, ${e.progress.distinct} distinct` : `  merges ${e.progress.merges}/${e.progress.total}`);
          }
          break;
        case 'pretrain': printPretrainEvent(e.event, false, tick); break;
        case 'sample': console.log(`  > ${e.prompt}${e.text.replace(/\n/g, '\n    ')}`); break;
        case 'done': console.log(`\nladder done in ${fmtDuration(e.seconds)}; outputs in ${e.out} (summary.json)`); break;
      }
    });
    void summary;
    return 0;
  },
};
