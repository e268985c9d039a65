// The main job (`npm start`): the ladder on the embedded world, each rung a stage that reads the
// previous rung's files. Today: world → tokenizer → GPT pretraining → samples. Later rungs (BERT,
// GPT-1 finetuning, prompting, SFT, reward model, PPO, chat, report) append stages here.
// Every stage's output lands under `out/`; a stage whose output exists is reused unless `fresh`.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateWorld, writeWorld, type WorldProgress } from '../world/index.ts';
import { trainBpe, readTexts, loadTokenizer, type TrainProgress } from '../tokenizer/index.ts';
import { pretrain, type PretrainEvent } from './pretrain.ts';
import { generateText } from '../generate/text.ts';
import { loadModel } from '../interop/load.ts';
import { ConfigError } from '../util/errors.ts';
import { writeFileAtomic } from '../util/fs.ts';

export interface LadderConfig {
  out: string;
  seed: number;
  worldSize: 'small' | 'medium' | 'large';
  vocabSize: number;
  preset: string;
  steps: number;
  batchSize: number;
  lr: number;
  /** Recompute every stage even when its output exists. */
  fresh: boolean;
}

export const defaultLadderConfig: LadderConfig = {
  out: 'runs/main', seed: 0, worldSize: 'small', vocabSize: 2048, preset: 'tiny', steps: 1200, batchSize: 16, lr: 2e-3, fresh: false,
};

export type LadderEvent =
  | { type: 'stage'; stage: string; detail: string }
  | { type: 'world'; progress: WorldProgress }
  | { type: 'tokenizer'; progress: TrainProgress }
  | { type: 'pretrain'; event: PretrainEvent }
  | { type: 'sample'; prompt: string; text: string }
  | { type: 'done'; out: string; seconds: number; summary: Record<string, unknown> };

const SAMPLE_PROMPTS = ['In Dorvale lives', 'Once upon a time,', 'Q: How old is'];

export async function runLadder(cfgIn: Partial<LadderConfig>, onEvent: (e: LadderEvent) => void = () => {}): Promise<Record<string, unknown>> {
  for (const k of Object.keys(cfgIn)) if (!(k in defaultLadderConfig)) throw new ConfigError(`unknown ladder option '${k}'`);
  const cfg = { ...defaultLadderConfig, ...cfgIn };
  const t0 = performance.now();
  const worldDir = join(cfg.out, 'world');
  const tokDir = join(cfg.out, 'tokenizer');
  const gptDir = join(cfg.out, 'gpt');
  const reuse = (path: string) => !cfg.fresh && existsSync(path);

  // 1. The world: corpus, crawl, tasks, instructions, labeler data.
  if (reuse(join(worldDir, 'manifest.json'))) {
    onEvent({ type: 'stage', stage: 'world', detail: `reusing ${worldDir}` });
  } else {
    onEvent({ type: 'stage', stage: 'world', detail: `generating the ${cfg.worldSize} world (seed ${cfg.seed}) into ${worldDir}` });
    writeWorld(generateWorld({ seed: cfg.seed, size: cfg.worldSize }), worldDir, (p) => onEvent({ type: 'world', progress: p }));
  }
  const corpus = join(worldDir, 'corpus', 'reference.jsonl');

  // 2. A byte-level BPE vocabulary learned from the reference corpus.
  if (reuse(join(tokDir, 'tokenizer.json'))) {
    onEvent({ type: 'stage', stage: 'tokenizer', detail: `reusing ${tokDir}` });
  } else {
    onEvent({ type: 'stage', stage: 'tokenizer', detail: `training a ${cfg.vocabSize}-token BPE vocabulary on ${corpus}` });
    const tok = await trainBpe(readTexts([corpus]), { vocabSize: cfg.vocabSize, specialTokens: ['<|endoftext|>', '<|im_start|>', '<|im_end|>'], onProgress: (p) => onEvent({ type: 'tokenizer', progress: p }) });
    tok.save(tokDir);
  }
  const tokenizer = loadTokenizer(tokDir);

  // 3. GPT pretraining on the reference corpus (resumes if a previous run was interrupted).
  const done = reuse(join(gptDir, 'config.json')) && trainedSteps(gptDir) >= cfg.steps;
  let valLoss: number | null = null;
  if (done) {
    onEvent({ type: 'stage', stage: 'pretrain', detail: `reusing ${gptDir}` });
  } else {
    onEvent({ type: 'stage', stage: 'pretrain', detail: `pretraining a '${cfg.preset}' GPT for ${cfg.steps} steps into ${gptDir}` });
    const r = await pretrain({
      data: [corpus], tokenizer: tokDir, out: gptDir, preset: cfg.preset, steps: cfg.steps, batchSize: cfg.batchSize,
      lr: cfg.lr, minLr: cfg.lr / 10, warmupSteps: Math.min(100, Math.ceil(cfg.steps / 10)), evalEvery: Math.max(1, Math.floor(cfg.steps / 4)),
      evalBatches: 8, checkpointEvery: Math.max(1, Math.floor(cfg.steps / 4)), seed: cfg.seed + 1337, resume: !cfg.fresh, model: { dropout: 0 },
    }, (e) => onEvent({ type: 'pretrain', event: e }));
    valLoss = r.valLoss;
  }

  // 4. Samples from the pretrained model.
  onEvent({ type: 'stage', stage: 'samples', detail: `sampling from ${gptDir}` });
  const { model } = loadModel(gptDir);
  const samples = generateText(model, tokenizer, SAMPLE_PROMPTS, { maxTokens: 60, temperature: 0.8, topK: 40, seed: cfg.seed });
  samples.forEach((s, i) => onEvent({ type: 'sample', prompt: SAMPLE_PROMPTS[i], text: s.text }));

  const summary = {
    world: worldDir, tokenizer: tokDir, gpt: gptDir, vocab_size: tokenizer.vocabSize, steps: trainedSteps(gptDir),
    val_loss: valLoss, samples: samples.map((s, i) => ({ prompt: SAMPLE_PROMPTS[i], text: s.text })),
  };
  writeFileAtomic(join(cfg.out, 'summary.json'), JSON.stringify(summary, null, 2) + '\n');
  onEvent({ type: 'done', out: cfg.out, seconds: (performance.now() - t0) / 1000, summary });
  return summary;
}

function trainedSteps(dir: string): number {
  const p = join(dir, 'trainer_state', 'state.json');
  return existsSync(p) ? Number(JSON.parse(readFileSync(p, 'utf8')).step) : 0;
}
