// `gptkit sft`: flags → pipeline/sft (InstructGPT step 1).
import type { Command } from './main.ts';
import type { FlagSpecs } from './flags.ts';
import { sft, defaultSftConfig, type SftConfig, type SftEvent } from '../pipeline/sft.ts';
import { backendNotice } from '../backend/index.ts';
import { throttle, fmtDuration } from './progress.ts';
import { trainingFlags, configFromArgs, printLoopEvent, printAdded, fmtCount } from './rlhf-common.ts';
import { underMpi } from './rlhf-common.ts';

const d = defaultSftConfig;
export const sftFlags: FlagSpecs = {
  model: { type: 'string', value: 'DIR', path: true, help: 'the pretrained model: a gptkit checkpoint or a Hugging Face GPT-2 directory' },
  data: { type: 'strings', value: 'FILE', path: true, default: d.data, help: "demonstrations, JSONL {\"messages\":[{\"role\",\"content\"}…]}; 'world' = the world's instruct/sft_train.jsonl" },
  'val-data': { type: 'strings', value: 'FILE', path: true, help: "validation demonstrations (default: the world's sft_validation.jsonl, else --val-fraction of --data)" },
  out: { type: 'string', value: 'DIR', path: true, help: 'output: the best model by validation loss; out/last/ holds the latest state for --resume' },
  epochs: { type: 'number', range: { min: 1, int: true }, default: d.epochs, help: 'passes over the demonstrations' },
  dropout: { type: 'number', range: { min: 0, max: 1, maxExclusive: true }, default: d.dropout, help: 'dropout while fine-tuning (InstructGPT: residual dropout 0.2)' },
  'val-fraction': { type: 'number', range: { min: 0, max: 1, maxExclusive: true }, default: d.valFraction, help: 'held out of --data for validation when no validation file is given' },
  ...trainingFlags(d),
};

export function printSftEvent(e: SftEvent, json: boolean, tick: (force?: boolean) => boolean): void {
  switch (e.type) {
    case 'chat-tokens':
      printAdded(e.added, json);
      return;
    case 'start':
      if (json) { console.log(JSON.stringify({ ...e, config: undefined })); return; }
      console.log(`model: ${e.model.nLayer} layers × ${e.model.nEmbd} wide, context ${e.model.blockSize}, vocab ${e.model.vocabSize}, dropout ${e.model.dropout}; backend ${e.backend} (${e.threads} threads)`);
      console.log(`data: ${e.train.examples} train (${fmtCount(e.train.assistantTokens)} assistant tokens${e.train.truncated ? `, ${e.train.truncated} truncated to their end` : ''}${e.train.dropped ? `, ${e.train.dropped} dropped` : ''}) / ${e.val.examples} validation; ${e.steps} steps, ${e.stepsPerEpoch} per epoch`);
      if (e.resumedFrom !== null) console.log(`resuming from step ${e.resumedFrom}`);
      return;
    case 'done':
      if (json) console.log(JSON.stringify(e));
      else console.log(`done: ${e.step} steps${e.bestValLoss !== null ? `, best validation loss ${e.bestValLoss.toFixed(4)}` : ''}; model in ${e.dir}`);
      return;
    default:
      printLoopEvent(e, json, tick);
  }
}

export const sftCommand: Command = {
  summary: 'supervised fine-tuning on chat demonstrations (InstructGPT step 1)',
  async run(argv) {
    const cfg = configFromArgs(argv, sftFlags, 'gptkit sft --model DIR --data world|FILE… --out DIR [options]',
      'Fine-tune a GPT on demonstrations (OpenAI fine-tuning JSONL), the loss on assistant tokens only.', ['model', 'out']);
    if (!cfg) return 0;
    const launched = underMpi('sft', argv, sftFlags);
    if (launched) return launched;
    const json = argv.includes('--json');
    const notice = backendNotice();
    if (notice) console.error(notice);
    const t0 = performance.now();
    const tick = throttle(json ? 0 : 2);
    await sft(cfg as Partial<SftConfig> & { model: string; out: string }, (e) => printSftEvent(e, json, tick));
    if (!json) console.log(`total time ${fmtDuration((performance.now() - t0) / 1000)}`);
    return 0;
  },
};
