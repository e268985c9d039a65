// `gptkit experiment gpt`: the papers' claims, measured on the embedded world by one command.
//   1. GPT-1: pretrain + finetune beats the same model finetuned from random initialisation (4 tasks).
//   2. GPT-1: the auxiliary LM loss, λ = 0.5 against λ = 0 (4 tasks).
//   3. GPT-2: zero-shot accuracy rises with model size (three sizes, same data, same tokens).
//   4. GPT-3: few-shot > one-shot > zero-shot on the largest, and the few − zero gap widens with size.
//   5. GPT-3 data: at equal tokens, pretraining on the curated crawl (dedup, quality classifier, mixed
//      with reference text) gives a lower held-out loss on reference text than the raw crawl.
// Every figure, the settings that produced it and a verdict per claim go to claims.json and
// report.html (inline SVG). A claim that does not reproduce is reported as such, with its figures.
// `quick` runs the same stages at toy size (minutes), for CI.
import { writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateWorld, writeWorld, openWorldDir, type WorldSize } from '../world/index.ts';
import { trainBpe, readTexts, loadTokenizer, openTokenizerDir } from '../tokenizer/index.ts';
import { tokenizerJsonText } from '../tokenizer/formats.ts';
import { GPT, gptConfig, countParams, type GptConfig } from '../models/gpt.ts';
import { saveCheckpoint, openCheckpointDir } from '../interop/checkpoint.ts';
import { loadModel } from '../interop/load.ts';
import { curate, parseCurateConfig } from '../data/index.ts';
import { barChart } from '../data/report.ts';
import { evaluate } from '../eval/harness.ts';
import { headEvaluator } from '../eval/head.ts';
import { noGrad, scope } from '../tensor/tensor.ts';
import { OutputDir, legacyByNames } from '../util/output.ts';
import { ConfigError } from '../util/errors.ts';
import { pretrain } from './pretrain.ts';
import { finetune } from './finetune.ts';

export interface ExperimentConfig {
  out: string;
  seed: number;
  /** The same stages at toy size (CI runs it end to end). */
  quick: boolean;
}

/** The settings behind every figure (recorded in claims.json). */
interface Scale {
  worldSize: WorldSize;
  vocabSize: number;
  blockSize: number;
  sizes: Record<string, Pick<GptConfig, 'nLayer' | 'nHead' | 'nEmbd'>>;
  pretrain: { steps: number; batchSize: number; lr: number };
  finetune: { limit: number; valLimit: number; epochs: number; batchSize: number; lr: number };
  eval: { shots: number[]; limit: number };
  curation: { budgetChars: number; steps: number };
  heldoutTokens: number;
}

// A 4-shot prompt of the world's longer tasks (sentiment, entailment, similarity) is about 220
// tokens of a 4096-token vocabulary (43 per demonstration): the context is 256 so the
// demonstrations fit (with 128 they were cut to about two), and the batch 8 so a step still holds
// 2048 tokens.
const FULL: Scale = {
  worldSize: 'medium', vocabSize: 4096, blockSize: 256,
  sizes: { S: { nLayer: 2, nHead: 2, nEmbd: 64 }, M: { nLayer: 4, nHead: 4, nEmbd: 128 }, L: { nLayer: 6, nHead: 6, nEmbd: 192 } },
  pretrain: { steps: 1500, batchSize: 8, lr: 2e-3 },
  finetune: { limit: 1000, valLimit: 200, epochs: 3, batchSize: 32, lr: 6.25e-5 },
  eval: { shots: [0, 1, 4], limit: 200 },
  curation: { budgetChars: 8_000_000, steps: 1000 },
  heldoutTokens: 65536,
};

const QUICK: Scale = {
  worldSize: 'small', vocabSize: 512, blockSize: 64,
  sizes: { S: { nLayer: 1, nHead: 1, nEmbd: 32 }, M: { nLayer: 2, nHead: 2, nEmbd: 48 }, L: { nLayer: 2, nHead: 2, nEmbd: 64 } },
  pretrain: { steps: 40, batchSize: 8, lr: 3e-3 },
  finetune: { limit: 48, valLimit: 16, epochs: 1, batchSize: 16, lr: 1e-3 },
  eval: { shots: [0, 1, 2], limit: 16 },
  curation: { budgetChars: 400_000, steps: 40 },
  heldoutTokens: 2048,
};

const CLASSIFICATION_TASKS = ['sentiment', 'entailment', 'similarity', 'multiple_choice'] as const;

export type ExperimentEvent =
  | { type: 'stage'; stage: string; detail: string }
  | { type: 'figure'; name: string; value: number }
  | { type: 'done'; out: string; seconds: number; claims: Claim[] };

export interface Claim {
  id: number;
  paper: string;
  claim: string;
  verdict: 'reproduced' | 'not reproduced';
  figures: Record<string, unknown>;
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const r4 = (x: number) => Number(x.toFixed(4));

/** Mean next-token loss of a model over consecutive context-sized windows of held-out tokens. */
export function heldoutLoss(dir: string, texts: string[], maxTokens: number): number {
  const { model, tokenizer } = loadModel(dir);
  const eot = tokenizer.tokenId('<|endoftext|>');
  const ids: number[] = [];
  for (const t of texts) {
    ids.push(...tokenizer.encode(t), eot);
    if (ids.length > maxTokens + 1) break;
  }
  const T = model.config.blockSize;
  const windows = Math.max(1, Math.floor((Math.min(ids.length, maxTokens + 1) - 1) / T));
  if (ids.length < T + 1) throw new ConfigError(`held-out text gives ${ids.length} tokens, fewer than one window of ${T + 1}`);
  let sum = 0;
  for (let w = 0; w < windows; w++) {
    const x = Int32Array.from(ids.slice(w * T, w * T + T)), y = Int32Array.from(ids.slice(w * T + 1, w * T + T + 1));
    sum += noGrad(() => scope(() => model.forward(x, 1, T, y).loss!.item()));
  }
  return sum / windows;
}

export async function runGptExperiment(cfgIn: Partial<ExperimentConfig> & { out: string }, onEvent: (e: ExperimentEvent) => void = () => {}): Promise<{ claims: Claim[] }> {
  for (const k of Object.keys(cfgIn)) if (!['out', 'seed', 'quick'].includes(k)) throw new ConfigError(`unknown experiment option '${k}'`);
  const cfg: ExperimentConfig = { seed: 0, quick: false, ...cfgIn };
  if (!(Number.isInteger(cfg.seed) && cfg.seed >= 0)) throw new ConfigError(`seed must be a non-negative integer, got ${cfg.seed}`);
  const sc = cfg.quick ? QUICK : FULL;
  const t0 = performance.now();
  const entries = ['world', 'tokenizer', 'data', 'models', 'finetuned', 'curated', 'claims.json', 'report.html'];
  const run = OutputDir.open(cfg.out, { kind: 'experiment', update: true, force: true, label: `--out ${cfg.out}`, legacy: legacyByNames([], (n) => entries.includes(n)) });
  return run.use(async () => {
    run.own('world', 'tokenizer', 'data', 'models', 'finetuned', 'curated');
    const stage = (s: string, detail: string) => onEvent({ type: 'stage', stage: s, detail });
    const at = (...p: string[]) => join(cfg.out, ...p);

    // The world, and its reference corpus split: every 10th document held out for claim 5.
    stage('world', `generating the ${sc.worldSize} world (seed ${cfg.seed})`);
    const worldOut = openWorldDir(at('world'), { update: true, force: true });
    writeWorld(generateWorld({ seed: cfg.seed, size: sc.worldSize }), worldOut);
    worldOut.close();
    const refDocs = readFileSync(at('world', 'corpus', 'reference.jsonl'), 'utf8').split('\n').filter(Boolean);
    const dataOut = OutputDir.open(at('data'), { kind: 'experiment-data', update: true, force: true });
    dataOut.commitSync((staging) => {
      writeFileSync(join(staging, 'reference-train.jsonl'), refDocs.filter((_, i) => i % 10 !== 9).join('\n') + '\n');
      writeFileSync(join(staging, 'reference-heldout.jsonl'), refDocs.filter((_, i) => i % 10 === 9).join('\n') + '\n');
    }, { replaceAll: true });
    dataOut.close();
    const refTrain = at('data', 'reference-train.jsonl');
    const heldout = refDocs.filter((_, i) => i % 10 === 9).map((l) => JSON.parse(l).text as string);

    stage('tokenizer', `training a ${sc.vocabSize}-token BPE vocabulary on the reference corpus`);
    const tok = await trainBpe(readTexts([refTrain]), { vocabSize: sc.vocabSize, specialTokens: ['<|endoftext|>'] });
    const tokOut = openTokenizerDir(at('tokenizer'), { update: true, force: true });
    tokOut.commitSync((staging) => tok.save(staging), { replaceAll: true });
    tokOut.close();
    const tokenizer = loadTokenizer(at('tokenizer'));

    // Claim 3/4 models: three sizes, the same data and the same number of tokens.
    const tokens = sc.pretrain.steps * sc.pretrain.batchSize * sc.blockSize;
    const params: Record<string, number> = {};
    const pretrainOne = async (name: string, data: string, dims: Pick<GptConfig, 'nLayer' | 'nHead' | 'nEmbd'>, steps: number) => {
      const out = at('models', name);
      stage('pretrain', `${name}: ${dims.nLayer} layers × ${dims.nEmbd} wide, ${steps} steps on ${data}`);
      const r = await pretrain({
        data: [data], tokenizer: at('tokenizer'), out, preset: 'nano', model: { ...dims, blockSize: sc.blockSize, dropout: 0 },
        steps, batchSize: sc.pretrain.batchSize, lr: sc.pretrain.lr, minLr: sc.pretrain.lr / 10, warmupSteps: Math.ceil(steps / 10),
        evalEvery: 0, valFraction: 0, seed: cfg.seed + 1337, force: true,
      });
      params[name] = countParams(r.model.config).total;
      return out;
    };
    for (const [name, dims] of Object.entries(sc.sizes)) await pretrainOne(name, refTrain, dims, sc.pretrain.steps);

    // Claims 3 and 4: prompting each size at each shot count.
    const prompting: Record<string, Record<string, Record<string, number>>> = {}; // size → shots → task → acc
    for (const name of Object.keys(sc.sizes)) {
      stage('eval', `${name}: ${sc.eval.shots.join('/')}-shot on ${CLASSIFICATION_TASKS.length} tasks`);
      const { model } = loadModel(at('models', name));
      const r = evaluate({ model, tokenizer, name }, { tasks: CLASSIFICATION_TASKS.map((t) => `world:${t}`), shots: sc.eval.shots, limit: sc.eval.limit, seed: cfg.seed, world: at('world') });
      prompting[name] = {};
      for (const k of sc.eval.shots) {
        prompting[name][k] = {};
        for (const t of CLASSIFICATION_TASKS) prompting[name][k][t] = r4(r.results[`${t}|${k}-shot`].acc as number);
      }
    }

    // Claims 1 and 2: finetuning the middle size, pretrained (λ = 0.5 and 0) and from random init.
    const randomDir = at('models', 'M-random-init');
    const randomOut = openCheckpointDir(randomDir, { update: true, force: true });
    const mCfg = loadModel(at('models', 'M')).model.config;
    saveCheckpoint(randomOut, new GPT(gptConfig(mCfg), cfg.seed + 99), { tokenizerJson: { text: tokenizerJsonText(tokenizer.toSpec()) } });
    randomOut.close();
    const finetuned: Record<string, Record<string, number>> = { pretrained: {}, 'pretrained λ=0': {}, 'random init': {} };
    for (const task of CLASSIFICATION_TASKS) {
      for (const [variant, model, auxLm] of [['pretrained', at('models', 'M'), 0.5], ['pretrained λ=0', at('models', 'M'), 0], ['random init', randomDir, 0.5]] as const) {
        const out = at('finetuned', `${task}-${variant.replace(/[^a-z0-9]+/gi, '-')}`);
        stage('finetune', `${task}, ${variant}`);
        await finetune({ model, task: `world:${task}`, world: at('world'), out, auxLm, force: true, seed: cfg.seed, ...sc.finetune });
        const ft = loadModel(out);
        const r = evaluate({ model: ft.model, tokenizer: ft.tokenizer, name: out, head: headEvaluator(ft.model, ft.tokenizer, ft.task!) }, { tasks: [`world:${task}`], limit: sc.eval.limit, world: at('world') });
        finetuned[variant][task] = r4(r.results[task].acc as number);
      }
    }

    // Claim 5: the raw crawl against the curated crawl mixed with reference text, at equal tokens.
    stage('curate', 'exact + fuzzy dedup, quality classifier, mix with reference text');
    const curatedOut = OutputDir.open(at('curated'), { kind: 'curated', update: true, force: true });
    const curateConfig = parseCurateConfig({
      seed: cfg.seed,
      inputs: { crawl: { paths: [at('world', 'crawl', 'crawl.jsonl')] }, reference: { paths: [refTrain] } },
      stages: [
        { stage: 'exact_dedup' },
        { stage: 'classifier', train: { positive: ['reference'], negative: ['crawl'] }, alpha: 9 },
        { stage: 'fuzzy_dedup', threshold: 0.65 },
        { stage: 'mix', sources: { crawl: 0.6, reference: 0.4 }, budgetChars: sc.curation.budgetChars },
      ],
      output: at('curated'),
    }, at('curate.json'));
    let curation: Record<string, unknown> = {};
    await curatedOut.use(() => curatedOut.commit(async (staging) => { curation = await curate({ config: curateConfig, answers: at('world', 'answers', 'crawl.jsonl'), writeDir: staging }); }));
    const rawDir = await pretrainOne('M-raw-crawl', at('world', 'crawl', 'crawl.jsonl'), sc.sizes.M, sc.curation.steps);
    const curatedDir = await pretrainOne('M-curated', at('curated', 'mix.jsonl'), sc.sizes.M, sc.curation.steps);
    stage('held-out', `loss on ${heldout.length} held-out reference documents`);
    const lossRaw = r4(heldoutLoss(rawDir, heldout, sc.heldoutTokens));
    const lossCurated = r4(heldoutLoss(curatedDir, heldout, sc.heldoutTokens));

    // Verdicts.
    const sizes = Object.keys(sc.sizes);
    const largest = sizes[sizes.length - 1];
    const [zero, one, few] = [sc.eval.shots[0], sc.eval.shots[1], sc.eval.shots[sc.eval.shots.length - 1]];
    const avg = (size: string, k: number) => r4(mean(CLASSIFICATION_TASKS.map((t) => prompting[size][k][t])));
    const zeroBySize = sizes.map((s) => avg(s, zero));
    const gap = sizes.map((s) => r4(avg(s, few) - avg(s, zero)));
    const beats = (a: Record<string, number>, b: Record<string, number>) => CLASSIFICATION_TASKS.every((t) => a[t] > b[t]);
    const claims: Claim[] = [
      { id: 1, paper: 'GPT-1', claim: 'pretrain + finetune beats the same model finetuned from random initialisation, on each of the four classification tasks', verdict: beats(finetuned.pretrained, finetuned['random init']) ? 'reproduced' : 'not reproduced', figures: { test_acc_pretrained: finetuned.pretrained, test_acc_random_init: finetuned['random init'] } },
      { id: 2, paper: 'GPT-1', claim: 'the auxiliary LM loss (λ = 0.5) helps over λ = 0, on each task', verdict: beats(finetuned.pretrained, finetuned['pretrained λ=0']) ? 'reproduced' : 'not reproduced', figures: { test_acc_lambda_0_5: finetuned.pretrained, test_acc_lambda_0: finetuned['pretrained λ=0'] } },
      { id: 3, paper: 'GPT-2', claim: 'zero-shot accuracy rises with model size (same data, same tokens)', verdict: zeroBySize.every((x, i) => i === 0 || x > zeroBySize[i - 1]) ? 'reproduced' : 'not reproduced', figures: { params, zero_shot_mean_acc: Object.fromEntries(sizes.map((s, i) => [s, zeroBySize[i]])), zero_shot_acc: Object.fromEntries(sizes.map((s) => [s, prompting[s][zero]])) } },
      { id: 4, paper: 'GPT-3', claim: `few-shot (${few}) > one-shot (${one}) > zero-shot on the largest model, and the few − zero gap widens with size`, verdict: avg(largest, few) > avg(largest, one) && avg(largest, one) > avg(largest, zero) && gap.every((x, i) => i === 0 || x > gap[i - 1]) ? 'reproduced' : 'not reproduced', figures: { mean_acc_by_shots: Object.fromEntries(sizes.map((s) => [s, Object.fromEntries(sc.eval.shots.map((k) => [k, avg(s, k)]))])), few_minus_zero_gap: Object.fromEntries(sizes.map((s, i) => [s, gap[i]])) } },
      { id: 5, paper: 'GPT-3 (data)', claim: 'at equal tokens, pretraining on the curated crawl mixed with reference text gives a lower held-out loss on reference text than the raw crawl', verdict: lossCurated < lossRaw ? 'reproduced' : 'not reproduced', figures: { heldout_loss_raw_crawl: lossRaw, heldout_loss_curated: lossCurated, tokens: sc.curation.steps * sc.pretrain.batchSize * sc.blockSize, dedup_precision: curation.dedup_precision ?? null, dedup_recall: curation.dedup_recall ?? null, classifier_auc: curation.classifier_auc ?? null } },
    ];
    for (const c of claims) onEvent({ type: 'figure', name: `claim ${c.id}`, value: c.verdict === 'reproduced' ? 1 : 0 });
    const result = { experiment: 'gpt', quick: cfg.quick, seed: cfg.seed, settings: { ...sc, pretrain_tokens: tokens }, claims, seconds: Number(((performance.now() - t0) / 1000).toFixed(1)) };
    run.commitSync((staging) => {
      writeFileSync(join(staging, 'claims.json'), JSON.stringify(result, null, 2) + '\n');
      writeFileSync(join(staging, 'report.html'), reportHtml(claims, sc, prompting, finetuned));
    });
    onEvent({ type: 'done', out: cfg.out, seconds: result.seconds, claims });
    return { claims };
  });
}

function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** The claims section of the report: a table of verdicts and one chart per claim. */
function reportHtml(claims: Claim[], sc: Scale, prompting: Record<string, Record<string, Record<string, number>>>, finetuned: Record<string, Record<string, number>>): string {
  const sizes = Object.keys(sc.sizes);
  const [zero, few] = [sc.eval.shots[0], sc.eval.shots[sc.eval.shots.length - 1]];
  const avg = (s: string, k: number) => mean(CLASSIFICATION_TASKS.map((t) => prompting[s][k][t]));
  const c5 = claims[4].figures as { heldout_loss_raw_crawl: number; heldout_loss_curated: number };
  const charts = [
    barChart('Claim 1: test accuracy, pretrained vs random init', CLASSIFICATION_TASKS.map((t) => ({ label: t, value: finetuned.pretrained[t], value2: finetuned['random init'][t] })), ['pretrained', 'random init']),
    barChart('Claim 2: test accuracy, λ = 0.5 vs λ = 0', CLASSIFICATION_TASKS.map((t) => ({ label: t, value: finetuned.pretrained[t], value2: finetuned['pretrained λ=0'][t] })), ['λ = 0.5', 'λ = 0']),
    barChart('Claim 3: zero-shot mean accuracy by size', sizes.map((s) => ({ label: s, value: avg(s, zero) }))),
    barChart(`Claim 4: mean accuracy, ${few}-shot vs 0-shot, by size`, sizes.map((s) => ({ label: s, value: avg(s, few), value2: avg(s, zero) })), [`${few}-shot`, '0-shot']),
    barChart('Claim 5: held-out loss on reference text', [{ label: 'raw crawl', value: c5.heldout_loss_raw_crawl }, { label: 'curated + reference', value: c5.heldout_loss_curated }]),
  ];
  const rows = claims.map((c) => `<tr><td>${c.id}</td><td>${esc(c.paper)}</td><td>${esc(c.claim)}</td><td class="${c.verdict === 'reproduced' ? 'ok' : 'no'}">${c.verdict}</td><td><code>${esc(JSON.stringify(c.figures))}</code></td></tr>`).join('\n');
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>gptkit experiment gpt</title>
<style>body{font-family:sans-serif;max-width:1000px;margin:2em auto}td,th{border:1px solid #ccc;padding:4px 8px;vertical-align:top}table{border-collapse:collapse}.ok{color:#070}.no{color:#a00}code{font-size:11px;word-break:break-all}</style>
</head><body>
<h1>The papers' claims, measured</h1>
<p>World ${sc.worldSize}; models ${sizes.map((s) => `${s} (${sc.sizes[s].nLayer}×${sc.sizes[s].nEmbd})`).join(', ')}; ${sc.pretrain.steps} pretraining steps of ${sc.pretrain.batchSize}×${sc.blockSize} tokens each.</p>
<table><tr><th>#</th><th>paper</th><th>claim</th><th>verdict</th><th>figures</th></tr>
${rows}
</table>
${charts.join('\n')}
</body></html>
`;
}
