// `gptkit ppo`: flags → pipeline/ppo (InstructGPT step 3, PPO-ptx).
import type { Command } from './main.ts';
import type { FlagSpecs } from './flags.ts';
import { ppo, defaultPpoConfig, type PpoConfig, type PpoEvent } from '../pipeline/ppo.ts';
import { backendNotice } from '../backend/index.ts';
import { fmtDuration } from './progress.ts';
import { configFromArgs, printAdded, fmtCount, underMpi } from './rlhf-common.ts';
import { ranksFlag } from './mpi-launch.ts';

const d = defaultPpoConfig;
const pos = { min: 1, int: true };
export const ppoFlags: FlagSpecs = {
  config: { type: 'string', value: 'FILE', help: 'JSON file of options (keys as these flags); flags given here win' },
  policy: { type: 'string', value: 'DIR', path: true, help: 'the SFT model: the policy starts as it, and a frozen copy is the KL reference' },
  reward: { type: 'string', value: 'DIR', path: true, help: 'the reward model (gptkit rm): scores answers, and the value model starts as it' },
  prompts: { type: 'strings', value: 'FILE', path: true, default: d.prompts, help: "prompts, JSONL {\"messages\":[…]}; 'world' = the world's prompts_train.jsonl" },
  ptx: { type: 'strings', value: 'FILE', path: true, default: d.ptx, help: "pretraining text for PPO-ptx (.txt/.jsonl/…); 'world' = the world's reference corpus" },
  world: { type: 'string', value: 'DIR', path: true, default: d.world, help: "the generated world that 'world' data reads" },
  out: { type: 'string', value: 'DIR', path: true, help: 'output: the EMA policy (a chat model); out/last/, out/value/ for --resume; metrics.jsonl' },
  iterations: { type: 'number', range: pos, default: d.iterations, help: 'PPO iterations (rollout, scoring, one epoch of updates)' },
  'batch-size': { type: 'number', range: pos, default: d.batchSize, help: 'episodes (prompts answered) per iteration (InstructGPT: 512)' },
  minibatch: { type: 'number', range: pos, default: d.minibatch, help: 'episodes per minibatch update (InstructGPT: 64)' },
  'grad-accum': { type: 'number', range: pos, default: d.gradAccum, help: 'pieces each minibatch\'s gradient is summed over (with --ranks N: on each rank, gradAccum × N pieces in all)' },
  'max-new-tokens': { type: 'number', range: pos, default: d.maxNewTokens, help: 'longest answer sampled' },
  kl: { type: 'number', range: { min: 0 }, default: d.kl, help: 'β of the per-token KL penalty against the SFT model' },
  'ptx-coef': { type: 'number', range: { min: 0 }, default: d.ptxCoef, help: 'γ of the pretraining LM loss (0 = plain PPO)' },
  'ptx-per-episode': { type: 'number', range: pos, default: d.ptxPerEpisode, help: 'pretraining sequences per episode' },
  gamma: { type: 'number', range: { min: 0, max: 1 }, default: d.gamma, help: 'GAE discount' },
  lambda: { type: 'number', range: { min: 0, max: 1 }, default: d.lambda, help: 'GAE λ' },
  clip: { type: 'number', range: { min: 0, minExclusive: true }, default: d.clip, help: 'policy ratio clip ε' },
  'value-clip': { type: 'number', range: { min: 0, minExclusive: true }, default: d.valueClip, help: 'value clip around the rollout values' },
  lr: { type: 'number', range: { min: 0, minExclusive: true }, default: d.lr, help: 'policy learning rate (constant after warmup)' },
  'value-lr': { type: 'number', range: { min: 0, minExclusive: true }, default: d.valueLr, help: 'value model learning rate' },
  'warmup-iterations': { type: 'number', range: { min: 0, int: true }, default: d.warmupIterations, help: 'linear learning-rate warmup (InstructGPT: 10 iterations)' },
  'grad-clip': { type: 'number', range: { min: 0 }, default: d.gradClip, help: 'clip the global gradient norm (0 = off)' },
  'ema-decay': { type: 'number', range: { min: 0, max: 1 }, default: d.emaDecay, help: 'EMA of the policy weights (what out/ holds)' },
  'checkpoint-every': { type: 'number', range: pos, default: d.checkpointEvery, help: 'checkpoint every N iterations' },
  seed: { type: 'number', range: { min: 0, int: true }, default: d.seed, help: 'seed for prompts, sampling and minibatches' },
  resume: { type: 'boolean', help: 'continue the run in --out' },
  force: { type: 'boolean', help: 'start over in an --out that holds a run (only the files gptkit wrote there are replaced)' },
  json: { type: 'boolean', help: 'print progress as JSON lines instead of text' },
  ranks: { ...ranksFlag, help: `${ranksFlag.help}. Every rank samples and scores the whole batch; the minibatch updates are split across ranks` },
};

export function printPpoEvent(e: PpoEvent, json: boolean): void {
  if (json) {
    console.log(JSON.stringify(e.type === 'start' ? { ...e, config: undefined } : e));
    return;
  }
  switch (e.type) {
    case 'chat-tokens': printAdded(e.added, false); break;
    case 'start':
      console.log(`policy: ${e.model.nLayer} layers × ${e.model.nEmbd} wide; ${e.prompts} prompts${e.ptxTokens ? `, ${fmtCount(e.ptxTokens)} pretraining tokens for ptx` : ', plain PPO (no ptx)'}; backend ${e.backend} (${e.threads} threads)${e.ranks ? ` × ${e.ranks} ranks (${e.mpi})` : ''}`);
      if (e.resumedFrom !== null) console.log(`resuming after iteration ${e.resumedFrom}`);
      break;
    case 'iteration': {
      const w = String(e.iterations).length;
      console.log([
        `iter ${String(e.iteration).padStart(w)}/${e.iterations}`, `reward ${e.reward.toFixed(3)}`, `kl ${e.kl.toFixed(3)}`, `entropy ${e.entropy.toFixed(2)}`,
        `pg ${e.policyLoss.toFixed(3)}`, `vf ${e.valueLoss.toFixed(3)}`, `clip ${e.clipFraction.toFixed(2)}`, `ev ${e.explainedVariance.toFixed(2)}`,
        `len ${e.responseLength.toFixed(1)}`, e.ptxLoss !== null ? `ptx ${e.ptxLoss.toFixed(3)}` : null,
        `rollout ${e.seconds.rollout.toFixed(1)}s score ${e.seconds.scoring.toFixed(1)}s update ${e.seconds.update.toFixed(1)}s`,
      ].filter(Boolean).join(' | '));
      break;
    }
    case 'checkpoint': break;
    case 'done': console.log(`done: ${e.iterations} iterations; EMA policy in ${e.dir}`); break;
  }
}

export const ppoCommand: Command = {
  summary: 'PPO(-ptx) against a reward model (InstructGPT step 3)',
  async run(argv) {
    const cfg = configFromArgs(argv, ppoFlags, 'gptkit ppo --policy SFT_DIR --reward RM_DIR --prompts world --ptx world --out DIR [options]',
      'Optimise the SFT policy against the reward model with PPO, a per-token KL penalty and (PPO-ptx) a pretraining loss.', ['policy', 'reward', 'out']);
    if (!cfg) return 0;
    const launched = underMpi('ppo', argv, ppoFlags);
    if (launched) return launched;
    const json = argv.includes('--json');
    const notice = backendNotice();
    if (notice) console.error(notice);
    const t0 = performance.now();
    await ppo(cfg as Partial<PpoConfig> & { policy: string; reward: string; out: string }, (e) => printPpoEvent(e, json));
    if (!json) console.log(`total time ${fmtDuration((performance.now() - t0) / 1000)}`);
    return 0;
  },
};
