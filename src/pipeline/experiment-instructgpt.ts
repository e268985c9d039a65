// `gptkit experiment instructgpt`: InstructGPT's headline results in miniature, on the embedded world,
// by one command. A small model S and a model L at least 4× its size are pretrained on the same text;
// S goes through the three steps (SFT → reward model → PPO-ptx), beside plain PPO (γ_ptx = 0) and DPO
// from the same SFT model; the world's labeler judges answers to held-out prompts.
//   1. The reward model's held-out pairwise accuracy is within 5 points of inter-labeler agreement.
//   2. Labelers prefer PPO-ptx to SFT, and SFT to the pretrained model prompted few-shot.
//   3. The small PPO-ptx model is preferred to the pretrained L (≥ 4× its parameters) prompted few-shot.
//   4. Honest and harmless answers are more frequent after SFT and after PPO-ptx than from the
//      pretrained model.
//   5. Alignment tax: plain PPO loses accuracy on the world's classification tasks (against the
//      pretrained model, by more than two standard errors); PPO-ptx recovers most (over half) of it.
//   6. DPO against PPO-ptx: the win rate is reported; the verdict reads DPO's claim (as good as PPO)
//      as non-inferiority within 10 points: win rate − 2 standard errors > 0.4 (a plain "not below
//      ½ by two standard errors" would call any small, noisy comparison reproduced).
// A preference counts as reproduced only when its win rate is above ½ by two standard errors (the
// ladder's report uses the same rule). Figures, the settings behind them and a verdict per claim go
// to claims.json and report.html; a claim that fails is reported with its figures. `quick` runs the
// same stages at toy size (CI).
import { writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateWorld, writeWorld, openWorldDir, type WorldSize } from '../world/index.ts';
import { trainBpe, readTexts, openTokenizerDir } from '../tokenizer/index.ts';
import { countParams, type GptConfig } from '../models/gpt.ts';
import { loadModel } from '../interop/load.ts';
import { evaluate } from '../eval/harness.ts';
import { barChart, lineChart, esc } from '../util/charts.ts';
import { OutputDir, legacyByNames } from '../util/output.ts';
import { ConfigError } from '../util/errors.ts';
import { loadChatModel } from '../rlhf/chat-model.ts';
import { pretrain } from './pretrain.ts';
import { sft } from './sft.ts';
import { rm } from './rm.ts';
import { ppo } from './ppo.ts';
import { dpo } from './dpo.ts';
import { judgeModels, type JudgeReport, type ModelRates } from './judge.ts';
import type { Claim, ExperimentEvent } from './experiment.ts';

export interface InstructGptExperimentConfig {
  out: string;
  seed: number;
  /** The same stages at toy size (CI runs it end to end). */
  quick: boolean;
}

type Dims = Pick<GptConfig, 'nLayer' | 'nHead' | 'nEmbd'>;

/** The settings behind every figure (recorded in claims.json). */
interface Scale {
  worldSize: WorldSize;
  vocabSize: number;
  blockSize: number;
  /** S goes through SFT, RM, PPO and DPO; L (≥ 4× S's parameters) is only prompted, for claim 3. */
  sizes: { S: Dims; L: Dims };
  pretrain: { steps: number; batchSize: number; lr: number };
  sft: { steps: number; epochs: number; batchSize: number; lr: number };
  rm: { steps: number; batchSize: number; lr: number };
  ppo: { iterations: number; batchSize: number; minibatch: number; maxNewTokens: number };
  dpo: { steps: number; batchSize: number; lr: number };
  judge: { limit: number; shots: number; maxTokens: number };
  eval: { limit: number; shots: number };
}

// Full: about 40 minutes on two cores by the stages' measured paces (ladder quick preset: a 4×128
// model pretrains 900 steps in ~150 s, PPO takes ~20 s an iteration of 16 answers); not yet run end
// to end. S is 4×128 (about 1.1 M parameters), L 6×256 (about 5.3 M, 4.9×). steps 0 = whole epochs.
const FULL: Scale = {
  worldSize: 'small', vocabSize: 2048, blockSize: 256,
  sizes: { S: { nLayer: 4, nHead: 4, nEmbd: 128 }, L: { nLayer: 6, nHead: 8, nEmbd: 256 } },
  pretrain: { steps: 900, batchSize: 16, lr: 2e-3 },
  sft: { steps: 0, epochs: 2, batchSize: 16, lr: 3e-4 },
  rm: { steps: 0, batchSize: 8, lr: 1e-4 },
  ppo: { iterations: 20, batchSize: 16, minibatch: 8, maxNewTokens: 40 },
  dpo: { steps: 300, batchSize: 8, lr: 5e-5 },
  judge: { limit: 200, shots: 4, maxTokens: 48 },
  eval: { limit: 200, shots: 0 },
};

// S 1×32 (about 33 k parameters) and L 2×64 (about 140 k, 4.2×).
const QUICK: Scale = {
  worldSize: 'small', vocabSize: 512, blockSize: 128,
  sizes: { S: { nLayer: 1, nHead: 2, nEmbd: 32 }, L: { nLayer: 2, nHead: 2, nEmbd: 64 } },
  pretrain: { steps: 40, batchSize: 8, lr: 3e-3 },
  sft: { steps: 12, epochs: 1, batchSize: 8, lr: 1e-3 },
  rm: { steps: 8, batchSize: 4, lr: 1e-4 },
  ppo: { iterations: 2, batchSize: 4, minibatch: 2, maxNewTokens: 16 },
  dpo: { steps: 8, batchSize: 4, lr: 5e-5 },
  judge: { limit: 16, shots: 2, maxTokens: 16 },
  eval: { limit: 16, shots: 0 },
};

const CLASSIFICATION_TASKS = ['sentiment', 'entailment', 'similarity', 'multiple_choice'] as const;
const r4 = (x: number) => Number(x.toFixed(4));

interface WinRate { win_rate: number; stderr: number; prompts: number; wins: number; ties: number; losses: number }
const winRate = (r: JudgeReport): WinRate => ({ win_rate: r4(r.winRate), stderr: r4(r.stderr), prompts: r.prompts, wins: r.wins, ties: r.ties, losses: r.losses });
/** A preference is a finding when the win rate stays above one half by two standard errors (report.ts's rule). */
const preferred = (r: WinRate) => r.win_rate - 2 * r.stderr > 0.5;
const rates = (r: ModelRates) => ({ follows: r4(r.follows), honest: r4(r.honest), harmless: r4(r.harmless), mean_score: r4(r.meanScore), words: r4(r.words) });

/** Accuracy of a model on the four classification tasks (prompted), each with its standard error, and their mean. */
interface TaskAcc { acc: Record<string, number>; stderr: Record<string, number>; mean: number; mean_stderr: number }

export async function runInstructGptExperiment(cfgIn: Partial<InstructGptExperimentConfig> & { out: string }, onEvent: (e: ExperimentEvent) => void = () => {}): Promise<{ claims: Claim[] }> {
  for (const k of Object.keys(cfgIn)) if (!['out', 'seed', 'quick'].includes(k)) throw new ConfigError(`unknown experiment option '${k}'`);
  const cfg: InstructGptExperimentConfig = { seed: 0, quick: false, ...cfgIn };
  if (!(Number.isInteger(cfg.seed) && cfg.seed >= 0)) throw new ConfigError(`seed must be a non-negative integer, got ${cfg.seed}`);
  const sc = cfg.quick ? QUICK : FULL;
  const t0 = performance.now();
  const dirs = ['world', 'tokenizer', 'models', 'sft', 'rm', 'ppo-ptx', 'ppo', 'dpo'];
  const entries = [...dirs, 'claims.json', 'report.html'];
  const run = OutputDir.open(cfg.out, { kind: 'experiment', update: true, force: true, label: `--out ${cfg.out}`, legacy: legacyByNames([], (n) => entries.includes(n)) });
  return run.use(async () => {
    run.own(...dirs);
    const stage = (s: string, detail: string) => onEvent({ type: 'stage', stage: s, detail });
    const at = (...p: string[]) => join(cfg.out, ...p);
    const world = at('world');
    const seed = cfg.seed + 1337;

    stage('world', `generating the ${sc.worldSize} world (seed ${cfg.seed})`);
    const worldOut = openWorldDir(world, { update: true, force: true });
    writeWorld(generateWorld({ seed: cfg.seed, size: sc.worldSize }), worldOut);
    worldOut.close();
    const reference = at('world', 'corpus', 'reference.jsonl');

    stage('tokenizer', `training a ${sc.vocabSize}-token BPE vocabulary on the reference corpus`);
    const tok = await trainBpe(readTexts([reference]), { vocabSize: sc.vocabSize, specialTokens: ['<|endoftext|>'] });
    const tokOut = openTokenizerDir(at('tokenizer'), { update: true, force: true });
    tokOut.commitSync((staging) => tok.save(staging), { replaceAll: true });
    tokOut.close();

    // Pretraining: S and L on the same text for the same tokens.
    const params: Record<string, number> = {};
    for (const [name, dims] of Object.entries(sc.sizes)) {
      stage('pretrain', `${name}: ${dims.nLayer} layers × ${dims.nEmbd} wide, ${sc.pretrain.steps} steps on the reference corpus`);
      const r = await pretrain({
        data: [reference], tokenizer: at('tokenizer'), out: at('models', name), preset: 'nano', model: { ...dims, blockSize: sc.blockSize, dropout: 0 },
        steps: sc.pretrain.steps, batchSize: sc.pretrain.batchSize, lr: sc.pretrain.lr, minLr: sc.pretrain.lr / 10, warmupSteps: Math.ceil(sc.pretrain.steps / 10),
        evalEvery: 0, valFraction: 0, seed, force: true,
      });
      params[name] = countParams(r.model.config).total;
    }
    if (params.L < 4 * params.S) throw new ConfigError(`claim 3 needs L at least 4× S's parameters, got ${params.L} vs ${params.S}`);
    const pre = at('models', 'S'), large = at('models', 'L');

    // InstructGPT's three steps on S, plain PPO and DPO beside them.
    stage('sft', `supervised fine-tuning of S on the world's demonstrations`);
    await sft({ model: pre, data: ['world'], world, out: at('sft'), epochs: sc.sft.epochs, steps: sc.sft.steps, batchSize: sc.sft.batchSize, lr: sc.sft.lr, minLr: sc.sft.lr / 10, seed, force: true });
    stage('rm', 'the reward model from the SFT model, on K-wise rankings');
    const rmr = await rm({ model: at('sft'), data: ['world'], world, out: at('rm'), epochs: 1, steps: sc.rm.steps, batchSize: sc.rm.batchSize, lr: sc.rm.lr, minLr: sc.rm.lr / 10, seed, force: true });
    const ppoMetrics: Record<string, { iteration: number; reward: number; kl: number }[]> = {};
    for (const [name, ptxCoef] of [['ppo-ptx', 27.8], ['ppo', 0]] as const) {
      stage('ppo', `${name === 'ppo' ? 'plain PPO (γ_ptx = 0)' : 'PPO-ptx (γ_ptx = 27.8)'}: ${sc.ppo.iterations} iterations of ${sc.ppo.batchSize} answers`);
      await ppo({
        policy: at('sft'), reward: at('rm'), prompts: ['world'], ptx: ['world'], world, out: at(name), ptxCoef, iterations: sc.ppo.iterations,
        batchSize: sc.ppo.batchSize, minibatch: sc.ppo.minibatch, maxNewTokens: sc.ppo.maxNewTokens, warmupIterations: Math.min(10, sc.ppo.iterations), seed, force: true,
      });
      ppoMetrics[name] = readFileSync(at(name, 'metrics.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
    }
    stage('dpo', 'DPO from the SFT model on the same preferences (β = 0.1)');
    let dpoVal: { loss: number; accuracy: number; margin: number } | null = null;
    await dpo({ model: at('sft'), data: ['world'], world, out: at('dpo'), steps: sc.dpo.steps, batchSize: sc.dpo.batchSize, lr: sc.dpo.lr, minLr: sc.dpo.lr / 10, seed, force: true }, (e) => { if (e.type === 'done') dpoVal = e.val; });

    // The labeler as judge on held-out prompts.
    const judged = async (label: string, model: string, baseline: string, baselineShots: number) => {
      stage('judge', label);
      return judgeModels({ model, baseline, baselineShots, prompts: ['world:test'], world, limit: sc.judge.limit, maxTokens: sc.judge.maxTokens, seed });
    };
    const sftVsPre = await judged(`SFT vs pretrained S prompted ${sc.judge.shots}-shot`, at('sft'), pre, sc.judge.shots);
    const ppoVsSft = await judged('PPO-ptx vs SFT', at('ppo-ptx'), at('sft'), 0);
    const ppoVsPre = await judged(`PPO-ptx vs pretrained S prompted ${sc.judge.shots}-shot`, at('ppo-ptx'), pre, sc.judge.shots);
    const ppoVsLarge = await judged(`PPO-ptx (S) vs pretrained L prompted ${sc.judge.shots}-shot`, at('ppo-ptx'), large, sc.judge.shots);
    const dpoVsPpo = await judged('DPO vs PPO-ptx', at('dpo'), at('ppo-ptx'), 0);

    // The alignment tax: prompted accuracy on the world's classification tasks.
    const accuracy = (label: string, dir: string, chat: boolean): TaskAcc => {
      stage('eval', `${label}: ${sc.eval.shots}-shot on ${CLASSIFICATION_TASKS.length} tasks`);
      const { model, tokenizer } = chat ? loadChatModel(dir) : loadModel(dir);
      model.eval();
      const r = evaluate({ model, tokenizer, name: dir }, { tasks: CLASSIFICATION_TASKS.map((t) => `world:${t}`), shots: [sc.eval.shots], limit: sc.eval.limit, seed: cfg.seed, world });
      const acc: Record<string, number> = {}, stderr: Record<string, number> = {};
      for (const t of CLASSIFICATION_TASKS) { acc[t] = r4(r.results[t].acc as number); stderr[t] = r4(r.results[t].acc_stderr as number); }
      const n = CLASSIFICATION_TASKS.length;
      return { acc, stderr, mean: r4(CLASSIFICATION_TASKS.reduce((a, t) => a + acc[t], 0) / n), mean_stderr: r4(Math.sqrt(CLASSIFICATION_TASKS.reduce((a, t) => a + stderr[t] ** 2, 0)) / n) };
    };
    const tasks = { pretrained: accuracy('pretrained S', pre, false), sft: accuracy('SFT', at('sft'), true), ppo: accuracy('plain PPO', at('ppo'), true), 'ppo-ptx': accuracy('PPO-ptx', at('ppo-ptx'), true) };

    // Verdicts.
    const rep = rmr.report;
    const agreement = rep.labelerAgreement ?? NaN;
    const w = { ppo_vs_sft: winRate(ppoVsSft), sft_vs_pretrained: winRate(sftVsPre), ppo_vs_pretrained: winRate(ppoVsPre) };
    const big = winRate(ppoVsLarge), dvp = winRate(dpoVsPpo);
    const pr = { pretrained: rates(sftVsPre.baseline), sft: rates(sftVsPre.model), 'ppo-ptx': rates(ppoVsPre.model) };
    const higher = (k: 'honest' | 'harmless') => pr.sft[k] > pr.pretrained[k] && pr['ppo-ptx'][k] > pr.pretrained[k];
    const tax = r4(tasks.pretrained.mean - tasks.ppo.mean);
    const taxSe = r4(Math.hypot(tasks.pretrained.mean_stderr, tasks.ppo.mean_stderr));
    const recovered = tax > 0 ? r4((tasks['ppo-ptx'].mean - tasks.ppo.mean) / tax) : null;
    const dv = dpoVal as { loss: number; accuracy: number; margin: number } | null;
    const claims: Claim[] = [
      { id: 1, paper: 'InstructGPT', claim: 'the reward model\'s held-out pairwise accuracy is within 5 points of inter-labeler agreement (paper: 69.6% vs 72.6%)', verdict: Math.abs(rep.accuracy - agreement) <= 0.05 ? 'reproduced' : 'not reproduced', figures: { rm_accuracy: r4(rep.accuracy), labeler_agreement: r4(agreement), difference: r4(rep.accuracy - agreement), pairs: rep.pairs, demo_mean_before_bias: r4(rep.demoMeanBefore) } },
      { id: 2, paper: 'InstructGPT', claim: `labelers prefer PPO-ptx to SFT, and SFT to the pretrained model prompted ${sc.judge.shots}-shot, on held-out prompts (each win rate above ½ by two standard errors)`, verdict: preferred(w.ppo_vs_sft) && preferred(w.sft_vs_pretrained) ? 'reproduced' : 'not reproduced', figures: w },
      { id: 3, paper: 'InstructGPT', claim: `the small PPO-ptx model is preferred to a pretrained model ≥ 4× its size prompted ${sc.judge.shots}-shot (paper: 1.3B vs 175B)`, verdict: preferred(big) ? 'reproduced' : 'not reproduced', figures: { ppo_ptx_S_vs_pretrained_L: big, params, size_ratio: r4(params.L / params.S) } },
      { id: 4, paper: 'InstructGPT', claim: 'honest and harmless answers are more frequent after SFT and after PPO-ptx than from the pretrained model (strictly higher rates)', verdict: higher('honest') && higher('harmless') ? 'reproduced' : 'not reproduced', figures: { rates: pr } },
      { id: 5, paper: 'InstructGPT', claim: `alignment tax: plain PPO loses mean ${sc.eval.shots}-shot accuracy on the world's four classification tasks against the pretrained model (by more than two standard errors), and PPO-ptx recovers over half of it`, verdict: tax > 2 * taxSe && recovered !== null && recovered > 0.5 ? 'reproduced' : 'not reproduced', figures: { accuracy: tasks, tax_plain_ppo: tax, tax_stderr: taxSe, recovered_by_ptx: recovered } },
      { id: 6, paper: 'DPO', claim: 'DPO against PPO-ptx, win rate reported; the verdict reads DPO\'s claim (at least as good as PPO) as non-inferiority within 10 points: win rate − 2 standard errors above 0.4', verdict: dvp.win_rate - 2 * dvp.stderr > 0.4 ? 'reproduced' : 'not reproduced', figures: { dpo_vs_ppo_ptx: dvp, dpo_rates: rates(dpoVsPpo.model), ppo_ptx_rates: rates(dpoVsPpo.baseline), dpo_heldout: dv ? { loss: r4(dv.loss), accuracy: r4(dv.accuracy), margin: r4(dv.margin) } : null } },
    ];
    for (const c of claims) onEvent({ type: 'figure', name: `claim ${c.id}`, value: c.verdict === 'reproduced' ? 1 : 0 });
    const result = { experiment: 'instructgpt', quick: cfg.quick, seed: cfg.seed, settings: sc, claims, ppo: ppoMetrics, examples: ppoVsPre.examples.slice(0, 3), seconds: Number(((performance.now() - t0) / 1000).toFixed(1)) };
    run.commitSync((staging) => {
      writeFileSync(join(staging, 'claims.json'), JSON.stringify(result, null, 2) + '\n');
      writeFileSync(join(staging, 'report.html'), reportHtml(claims, sc, params, ppoMetrics));
    });
    onEvent({ type: 'done', out: cfg.out, seconds: result.seconds, claims });
    return { claims };
  });
}

/** The report: a table of verdicts, one chart per claim, and PPO's reward and KL curves. */
function reportHtml(claims: Claim[], sc: Scale, params: Record<string, number>, ppoMetrics: Record<string, { iteration: number; reward: number; kl: number }[]>): string {
  const f = claims.map((c) => c.figures as Record<string, any>);
  const wr = (x: WinRate) => x.win_rate;
  const r4c = f[3].rates as Record<string, { honest: number; harmless: number }>;
  const acc = f[4].accuracy as Record<string, TaskAcc>;
  const charts = [
    barChart('Claim 1: reward model accuracy vs labeler agreement', [{ label: 'reward model', value: f[0].rm_accuracy }, { label: 'second labeler', value: f[0].labeler_agreement }]),
    barChart('Claim 2: labeler win rates (½ = no preference)', [{ label: 'PPO-ptx vs SFT', value: wr(f[1].ppo_vs_sft) }, { label: 'SFT vs pretrained', value: wr(f[1].sft_vs_pretrained) }, { label: 'PPO-ptx vs pretrained', value: wr(f[1].ppo_vs_pretrained) }]),
    barChart(`Claim 3: PPO-ptx S vs pretrained L (${(params.L / params.S).toFixed(1)}× the parameters)`, [{ label: 'win rate', value: wr(f[2].ppo_ptx_S_vs_pretrained_L) }, { label: 'no preference', value: 0.5 }]),
    barChart('Claim 4: honest and harmless answers', ['pretrained', 'sft', 'ppo-ptx'].map((m) => ({ label: m, value: r4c[m].honest, value2: r4c[m].harmless })), ['honest', 'harmless']),
    barChart(`Claim 5: mean ${sc.eval.shots}-shot accuracy on the world's tasks`, Object.entries(acc).map(([m, a]) => ({ label: m, value: a.mean }))),
    barChart('Claim 6: DPO vs PPO-ptx', [{ label: 'DPO win rate', value: wr(f[5].dpo_vs_ppo_ptx) }, { label: 'no preference', value: 0.5 }]),
  ];
  const curves = [
    lineChart('PPO: mean reward per iteration', Object.entries(ppoMetrics).map(([name, rows]) => ({ name, points: rows.map((r) => [r.iteration, r.reward] as [number, number]) })), 'iteration', 'reward'),
    lineChart('PPO: KL to the SFT model per iteration', Object.entries(ppoMetrics).map(([name, rows]) => ({ name, points: rows.map((r) => [r.iteration, r.kl] as [number, number]) })), 'iteration', 'KL'),
  ];
  const rows = claims.map((c) => `<tr><td>${c.id}</td><td>${esc(c.paper)}</td><td>${esc(c.claim)}</td><td class="${c.verdict === 'reproduced' ? 'ok' : 'no'}">${c.verdict}</td><td><code>${esc(JSON.stringify(c.figures))}</code></td></tr>`).join('\n');
  const dims = (d: Dims) => `${d.nLayer}×${d.nEmbd}`;
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>gptkit experiment instructgpt</title>
<style>body{font-family:sans-serif;max-width:1000px;margin:2em auto}td,th{border:1px solid #ccc;padding:4px 8px;vertical-align:top}table{border-collapse:collapse}.ok{color:#070}.no{color:#a00}code{font-size:11px;word-break:break-all}</style>
</head><body>
<h1>InstructGPT's claims, measured</h1>
<p>World ${sc.worldSize}; S ${dims(sc.sizes.S)} (${params.S} parameters) and L ${dims(sc.sizes.L)} (${params.L}), each pretrained ${sc.pretrain.steps} steps of ${sc.pretrain.batchSize}×${sc.blockSize} tokens; PPO ${sc.ppo.iterations} iterations of ${sc.ppo.batchSize} answers; ${sc.judge.limit} held-out prompts judged by the world's labeler. A preference counts as reproduced when its win rate is above ½ by two standard errors.</p>
<table><tr><th>#</th><th>paper</th><th>claim</th><th>verdict</th><th>figures</th></tr>
${rows}
</table>
${charts.map((c, i) => `<figure class="claim-chart" id="claim-${i + 1}">${c}</figure>`).join('\n')}
<h2>PPO training</h2>
${curves.join('\n')}
</body></html>
`;
}
