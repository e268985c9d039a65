// `gptkit ladder` (what `npm start` runs): the whole ladder on the embedded world, with progress for
// the run (stage k of n, elapsed, ETA) and each stage's own; and `gptkit report --run DIR`.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from './main.ts';
import { parseFlags, helpText, type FlagSpecs } from './flags.ts';
import { runLadder, regenerateReport, defaultLadderConfig, ladderRanges as R, LADDER_PRESETS, STAGES, type LadderConfig, type LadderEvent } from '../pipeline/ladder.ts';
import { printPretrainEvent } from './pretrain.ts';
import { backendNotice } from '../backend/index.ts';
import { throttle, fmtDuration, stepLine } from './progress.ts';
import { ConfigError } from '../util/errors.ts';

const d = defaultLadderConfig;
const flags: FlagSpecs = {
  preset: { type: 'string', value: 'NAME', default: d.preset, choices: LADDER_PRESETS, help: 'sizes of every rung: toy (seconds, for tests), quick (npm start: ≤ 10 min on 2 cores), full (the claims\' sizes: ≤ 2 h)' },
  out: { type: 'string', value: 'DIR', default: d.out, help: 'the run folder: one folder per stage, summary.json, report.html (new, empty, or an earlier ladder run)' },
  seed: { type: 'number', default: d.seed, range: R.seed, help: 'seed of the world and of every stage' },
  only: { type: 'string', value: 'STAGE,…', help: `run only these stages again (the ones they read must be there): ${STAGES.join(', ')}` },
  from: { type: 'string', value: 'STAGE', help: 'run this stage again and every one after it' },
  until: { type: 'string', value: 'STAGE', help: 'stop after this stage' },
  fresh: { type: 'boolean', help: 'rebuild every stage (a stage whose settings changed is rebuilt anyway)' },
  'world-size': { type: 'string', value: 'small|medium|large', choices: ['small', 'medium', 'large'], help: "override the preset's world size" },
  'vocab-size': { type: 'number', range: R.vocabSize, help: "override the preset's BPE vocabulary size" },
  'gpt-preset': { type: 'string', value: 'NAME', help: "override the preset's GPT size (nano, tiny, small, gpt2, …)" },
  steps: { type: 'number', range: R.steps, help: "override the preset's pretraining steps" },
  'batch-size': { type: 'number', range: R.batchSize, help: "override the preset's pretraining batch size" },
  lr: { type: 'number', range: R.lr, help: "override the preset's pretraining learning rate" },
};

/** One line for a stage's own progress event, or null to skip it (throttled by the caller). */
function progressLine(e: Record<string, any>): string | null {
  if (e.type === 'step' && typeof e.loss === 'number') return `  ${stepLine(e as Parameters<typeof stepLine>[0])}${e.epoch !== undefined ? ` | epoch ${e.epoch}` : ''}`;
  if (e.type === 'iteration') return `  iteration ${e.iteration}/${e.iterations} | reward ${Number(e.reward).toFixed(3)} | KL ${Number(e.kl).toFixed(3)} | length ${Number(e.responseLength).toFixed(1)}`;
  if (e.type === 'eval' && e.valAcc !== undefined) return `  validation accuracy ${(100 * e.valAcc).toFixed(1)}%`;
  if (e.type === 'eval' && e.metrics) return `  validation ${Object.entries(e.metrics as Record<string, number>).map(([k, v]) => `${k} ${v.toFixed(4)}`).join(', ')}`;
  if (e.type === 'progress' && e.total !== undefined) return `  ${e.key ?? e.who ?? ''} ${e.done}/${e.total}`;
  if (e.type === 'stage' && e.detail) return `  ${e.stage}: ${e.detail}`;
  if (e.phase) return `  ${e.phase}: ${e.docs} docs`;
  return null;
}

export function printLadderEvent(e: LadderEvent, tick: (force?: boolean) => boolean): void {
  switch (e.type) {
    case 'plan':
      console.log(`ladder (${e.preset}): ${e.stages.map((s) => `${s.stage}${s.action === 'reuse' ? ' (reuse)' : s.action === 'resume' ? ' (resume)' : ''}`).join(' → ')}`);
      break;
    case 'stage':
      console.log(`\n== [${e.index}/${e.total}] ${e.stage}: ${e.detail} | elapsed ${fmtDuration(e.elapsedSec)}${e.etaSec !== null ? ` | ETA ${fmtDuration(e.etaSec)}` : ''}`);
      break;
    case 'world': if (tick(e.progress.done && e.progress.file === 'manifest.json')) console.log(`  world: ${e.progress.file} ${e.progress.records} records`); break;
    case 'tokenizer':
      if (tick(e.progress.phase === 'merge' && e.progress.merges === e.progress.total)) {
        console.log(e.progress.phase === 'count' ? `  counting pre-tokens: ${e.progress.chars} chars, ${e.progress.distinct} distinct` : `  merges ${e.progress.merges}/${e.progress.total}`);
      }
      break;
    case 'pretrain': printPretrainEvent(e.event, false, tick); break;
    case 'progress': {
      const line = progressLine(e.event);
      const last = e.event.type === 'done' || (e.event.type === 'step' && e.event.step === e.event.steps);
      if (line && tick(last)) console.log(line);
      break;
    }
    case 'sample': console.log(`  > ${e.prompt}${e.text.replace(/\n/g, '\n    ')}`); break;
    case 'done':
      console.log(`\nladder done in ${fmtDuration(e.seconds)}; outputs in ${e.out}`);
      if (existsSync(e.report)) console.log(`report card: ${e.report}`);
      if (existsSync(join(String(e.summary.chat_model), 'model.safetensors'))) {
        console.log(`talk to the result:\n  npx gptkit chat --model ${e.summary.chat_model}\n  npx gptkit serve --model ${e.summary.chat_model} --port 8080`);
      }
      break;
  }
}

export const ladderCommand: Command = {
  summary: 'the main job: the whole ladder on the embedded world, ending in a chat model and a report card (npm start)',
  async run(argv) {
    const p = parseFlags(argv, flags);
    if (p.help) {
      console.log(helpText('gptkit ladder [--preset toy|quick|full] [options]', `Run the ladder on the embedded world: ${STAGES.join(' → ')}.`, flags));
      return 0;
    }
    const v = p.values as Record<string, any>;
    const cfg: Partial<LadderConfig> = {
      out: v.out, preset: v.preset, seed: v.seed, fresh: Boolean(v.fresh),
      only: v.only ? String(v.only).split(',').map((s: string) => s.trim()).filter(Boolean) : [], from: v.from ?? null, until: v.until ?? null,
      worldSize: v.worldSize ?? null, vocabSize: v.vocabSize ?? null, gptPreset: v.gptPreset ?? null, steps: v.steps ?? null, batchSize: v.batchSize ?? null, lr: v.lr ?? null,
    };
    const notice = backendNotice();
    if (notice) console.error(notice);
    const tick = throttle(2);
    await runLadder(cfg, (e) => printLadderEvent(e, tick));
    return 0;
  },
};

export const reportCommand: Command = {
  summary: 'draw the report card of a ladder run again (report.html + report.json)',
  async run(argv) {
    const specs: FlagSpecs = { run: { type: 'string', value: 'DIR', default: d.out, help: 'the ladder run folder' } };
    const p = parseFlags(argv, specs);
    if (p.help) {
      console.log(helpText('gptkit report --run DIR', 'Write DIR/report.html and DIR/report.json from the figures the run\'s stages recorded.', specs));
      return 0;
    }
    const dir = String(p.values.run);
    if (!dir) throw new ConfigError('--run is required');
    const r = regenerateReport(dir);
    console.log(`wrote ${r.html} and ${r.json}`);
    return 0;
  },
};
