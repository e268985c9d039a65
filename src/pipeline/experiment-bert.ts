// `gptkit experiment bert`: the BERT and Transformer papers' claims, measured on the embedded world.
//   1. BERT: finetuned on entailment and similarity, a BERT beats a GPT-1 of the same size pretrained
//      on the same text for the same steps × batch × context (the bidirectional encoder is the point).
//   2. BERT: MLM + NSP pretraining beats finetuning the same encoder from random initialisation.
//   3. Transformer: on the world's translation task the encoder–decoder beats a decoder-only GPT of
//      about the same size trained on the same pairs for the same tokens ("source = target"), in BLEU
//      and exact match (greedy decoding for both).
//   4. Transformer: beam search (4, α 0.6) scores higher BLEU than greedy decoding.
// Figures, settings and a verdict per claim go to claims.json and report.html; a claim that does not
// reproduce is reported as such. `quick` runs the same stages at toy size (CI).
import { writeFileSync, readFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { generateWorld, writeWorld, openWorldDir } from '../world/index.ts';
import { trainBpe, readTexts, openTokenizerDir } from '../tokenizer/index.ts';
import { trainWordPiece } from '../tokenizer/wordpiece.ts';
import { BertForPreTraining, bertConfig, countBertParams } from '../models/bert.ts';
import { countParams } from '../models/gpt.ts';
import { countTransformerParams } from '../models/transformer.ts';
import { saveBertDir } from '../interop/hf-bert.ts';
import { openCheckpointDir } from '../interop/checkpoint.ts';
import { loadModel } from '../interop/load.ts';
import { evaluate } from '../eval/harness.ts';
import { headEvaluator } from '../eval/head.ts';
import { loadTask } from '../eval/tasks.ts';
import { corpusBleu, exactMatch } from '../eval/bleu.ts';
import { barChart } from '../data/report.ts';
import { generate } from '../generate/generate.ts';
import { argmax } from '../generate/sampling.ts';
import { OutputDir, legacyByNames } from '../util/output.ts';
import { ConfigError } from '../util/errors.ts';
import { pretrain, pretrainBertRun } from './pretrain.ts';
import { finetune } from './finetune.ts';
import { finetuneBert, encodeBertExample, predictBert } from './finetune-bert.ts';
import { loadBertDir } from '../interop/hf-bert.ts';
import { BertTaskModel, type BertTaskLayout } from '../models/bert.ts';
import { trainSeq2Seq, loadSeq2Seq, loadPairs, scoreTranslations } from './seq2seq.ts';
import type { Claim, ExperimentEvent } from './experiment.ts';
import type { WorldSize } from '../world/index.ts';

interface Scale {
  worldSize: WorldSize;
  vocabSize: number;
  blockSize: number;
  dims: { nLayer: number; nHead: number; nEmbd: number };
  pretrain: { steps: number; batchSize: number; bertLr: number; gptLr: number };
  finetune: { limit: number; epochs: number; batchSize: number; bertLr: number; gptLr: number };
  evalLimit: number;
  seq2seq: { steps: number; batchSize: number; nLayer: number; testLimit: number };
}

const FULL: Scale = {
  worldSize: 'small', vocabSize: 2048, blockSize: 128, dims: { nLayer: 4, nHead: 4, nEmbd: 128 },
  pretrain: { steps: 1200, batchSize: 16, bertLr: 1e-3, gptLr: 1e-3 },
  finetune: { limit: 1000, epochs: 3, batchSize: 32, bertLr: 1e-4, gptLr: 1e-4 },
  evalLimit: 200,
  seq2seq: { steps: 600, batchSize: 32, nLayer: 3, testLimit: 200 },
};

const QUICK: Scale = {
  worldSize: 'small', vocabSize: 512, blockSize: 64, dims: { nLayer: 2, nHead: 2, nEmbd: 64 },
  pretrain: { steps: 30, batchSize: 8, bertLr: 1e-3, gptLr: 1e-3 },
  finetune: { limit: 64, epochs: 1, batchSize: 16, bertLr: 1e-4, gptLr: 1e-4 },
  evalLimit: 32,
  seq2seq: { steps: 40, batchSize: 16, nLayer: 1, testLimit: 24 },
};

const PAIR_TASKS = ['entailment', 'similarity'] as const;
const r4 = (x: number) => Number(x.toFixed(4));

/** Test accuracy of a finetuned BERT directory on a world task. */
function bertTestAcc(dir: string, task: string, world: string, limit: number): number {
  const { model: base, tokenizer, rest, config } = loadBertDir(dir);
  const f = config.finetune as { layout: BertTaskLayout; n_classes: number; labels: string[] | null };
  const m = new BertTaskModel(base.config, f.layout, f.n_classes);
  const src = new Map(base.bert.namedParameters());
  for (const [n, t] of m.bert.namedParameters()) t.data.set(src.get(n)!.data);
  m.classifier.weight.data.set(rest.get('classifier.weight')!.data as Float32Array);
  m.classifier.bias!.data.set(rest.get('classifier.bias')!.data as Float32Array);
  const records = (loadTask(`world:${task}`, { world, splits: ['test'] }).splits.test ?? []).slice(0, limit);
  const ex = records.map((r) => encodeBertExample(r, tokenizer, f.labels, base.config.blockSize));
  const pred = predictBert(m, ex, tokenizer.padId);
  return pred.filter((p, i) => p === ex[i].label).length / pred.length;
}

export async function runBertExperiment(cfgIn: { out: string; seed?: number; quick?: boolean }, onEvent: (e: ExperimentEvent) => void = () => {}): Promise<{ claims: Claim[] }> {
  for (const k of Object.keys(cfgIn)) if (!['out', 'seed', 'quick'].includes(k)) throw new ConfigError(`unknown experiment option '${k}'`);
  const cfg = { seed: 0, quick: false, ...cfgIn };
  const sc = cfg.quick ? QUICK : FULL;
  const t0 = performance.now();
  const entries = ['world', 'tokenizers', 'data', 'models', 'finetuned', 'claims.json', 'report.html'];
  const run = OutputDir.open(cfg.out, { kind: 'experiment-bert', update: true, force: true, label: `--out ${cfg.out}`, legacy: legacyByNames([], (n) => entries.includes(n)) });
  return run.use(async () => {
    run.own('world', 'tokenizers', 'data', 'models', 'finetuned');
    const stage = (s: string, detail: string) => onEvent({ type: 'stage', stage: s, detail });
    const at = (...p: string[]) => join(cfg.out, ...p);
    stage('world', `generating the ${sc.worldSize} world (seed ${cfg.seed})`);
    const worldOut = openWorldDir(at('world'), { update: true, force: true });
    writeWorld(generateWorld({ seed: cfg.seed, size: sc.worldSize }), worldOut);
    worldOut.close();
    const ref = at('world', 'corpus', 'reference.jsonl');
    const texts = () => readFileSync(ref, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l).text as string);

    stage('tokenizers', `a ${sc.vocabSize}-token WordPiece (BERT) and byte-level BPE (GPT) on the reference corpus`);
    const wp = await trainWordPiece(texts(), { vocabSize: sc.vocabSize });
    const bpe = await trainBpe(readTexts([ref]), { vocabSize: sc.vocabSize, specialTokens: ['<|endoftext|>'] });
    mkdirSync(at('tokenizers'), { recursive: true });
    for (const [name, tok] of [['wordpiece', wp], ['bpe', bpe]] as const) {
      const o = openTokenizerDir(at('tokenizers', name), { update: true, force: true });
      o.commitSync((staging) => tok.save(staging), { replaceAll: true });
      o.close();
    }

    // Claims 1-2: BERT and GPT-1 of the same size, the same text, the same steps × batch × context.
    const common = { data: [ref], out: '', steps: sc.pretrain.steps, batchSize: sc.pretrain.batchSize, warmupSteps: Math.ceil(sc.pretrain.steps / 10), evalEvery: 0, valFraction: 0.02, seed: cfg.seed + 1, force: true };
    stage('pretrain', `BERT ${sc.dims.nLayer}×${sc.dims.nEmbd}: MLM + NSP, ${sc.pretrain.steps} steps of ${sc.pretrain.batchSize} × ${sc.blockSize}`);
    const bert = await pretrainBertRun({ ...common, out: at('models', 'bert'), tokenizer: at('tokenizers', 'wordpiece'), preset: 'bert-world-tiny', model: { ...sc.dims, blockSize: sc.blockSize }, lr: sc.pretrain.bertLr, minLr: sc.pretrain.bertLr / 10, weightDecay: 0.01 });
    stage('pretrain', `GPT-1 ${sc.dims.nLayer}×${sc.dims.nEmbd} (post-LN): next-token, the same steps`);
    const gpt = await pretrain({ ...common, out: at('models', 'gpt1'), tokenizer: at('tokenizers', 'bpe'), preset: 'nano', model: { ...sc.dims, blockSize: sc.blockSize, norm: 'post', dropout: 0.1 }, lr: sc.pretrain.gptLr, minLr: sc.pretrain.gptLr / 10 });
    const scratchDir = at('models', 'bert-random-init');
    const scratchOut = openCheckpointDir(scratchDir, { update: true, force: true });
    saveBertDir(scratchOut, new BertForPreTraining(bertConfig(bert.model.config), cfg.seed + 99), wp);
    scratchOut.close();
    const acc: Record<string, Record<string, number>> = { bert: {}, gpt1: {}, 'bert random init': {} };
    for (const task of PAIR_TASKS) {
      for (const [variant, dir] of [['bert', at('models', 'bert')], ['bert random init', scratchDir]] as const) {
        const out = at('finetuned', `${task}-${variant.replace(/ /g, '-')}`);
        stage('finetune', `${task}, ${variant}`);
        await finetuneBert({ model: dir, task: `world:${task}`, world: at('world'), out, force: true, seed: cfg.seed, lr: sc.finetune.bertLr, epochs: sc.finetune.epochs, batchSize: sc.finetune.batchSize, limit: sc.finetune.limit, valLimit: 1 });
        acc[variant][task] = r4(bertTestAcc(out, task, at('world'), sc.evalLimit));
      }
      const out = at('finetuned', `${task}-gpt1`);
      stage('finetune', `${task}, GPT-1`);
      await finetune({ model: at('models', 'gpt1'), task: `world:${task}`, world: at('world'), out, force: true, seed: cfg.seed, lr: sc.finetune.gptLr, epochs: sc.finetune.epochs, batchSize: sc.finetune.batchSize, limit: sc.finetune.limit, valLimit: 1 });
      const ft = loadModel(out);
      const r = evaluate({ model: ft.model, tokenizer: ft.tokenizer, name: out, head: headEvaluator(ft.model, ft.tokenizer, ft.task!) }, { tasks: [`world:${task}`], limit: sc.evalLimit, world: at('world') });
      acc.gpt1[task] = r4(r.results[task].acc as number);
    }

    // Claims 3-4: translation, encoder–decoder against a decoder-only GPT on "source = target".
    const s2s = sc.seq2seq;
    stage('seq2seq', `encoder–decoder ${s2s.nLayer}+${s2s.nLayer} × ${sc.dims.nEmbd}, ${s2s.steps} steps of ${s2s.batchSize} pairs`);
    await trainSeq2Seq({ task: 'world:translation', world: at('world'), out: at('models', 'transformer'), preset: 'transformer-world-tiny', model: { nLayer: s2s.nLayer, nHead: sc.dims.nHead, nEmbd: sc.dims.nEmbd, dFf: 4 * sc.dims.nEmbd, blockSize: 64 }, vocabSize: sc.vocabSize, steps: s2s.steps, batchSize: s2s.batchSize, evalEvery: 0, bleuSentences: 0, seed: cfg.seed + 3, force: true });
    const { model: tr, tokenizer: trTok } = loadSeq2Seq(at('models', 'transformer'));
    const pairs = loadPairs('world:translation', at('world'));
    const test = pairs.test.slice(0, s2s.testLimit);
    const greedy = scoreTranslations(tr, trTok, test, { beam: 1, alpha: 0.6, maxLen: 64, batchSize: 32 });
    const beam = scoreTranslations(tr, trTok, test, { beam: 4, alpha: 0.6, maxLen: 64, batchSize: 32 });
    // The decoder-only baseline: the same pairs as documents "source = target", 2·N layers (about the
    // encoder–decoder's parameters), and the same tokens: the pairs' average length × pairs per step.
    const dataOut = OutputDir.open(at('data'), { kind: 'experiment-data', update: true, force: true });
    dataOut.commitSync((staging) => writeFileSync(join(staging, 'translation-joined.jsonl'), pairs.train.map((p) => JSON.stringify({ text: `${p.source} = ${p.target}` })).join('\n') + '\n'), { replaceAll: true });
    dataOut.close();
    const joinedTok = await trainBpe(pairs.train.map((p) => `${p.source} = ${p.target}`), { vocabSize: Math.min(sc.vocabSize, 1024), specialTokens: ['<|endoftext|>'] });
    const jt = openTokenizerDir(at('tokenizers', 'bpe-translation'), { update: true, force: true });
    jt.commitSync((staging) => joinedTok.save(staging), { replaceAll: true });
    jt.close();
    const pairTokens = pairs.train.slice(0, 200).reduce((n, p) => n + joinedTok.encode(`${p.source} = ${p.target}`).length + 1, 0) / Math.min(200, pairs.train.length);
    const gptBlock = 64, gptBatch = Math.max(1, Math.round((s2s.batchSize * pairTokens) / gptBlock));
    stage('seq2seq', `decoder-only GPT ${2 * s2s.nLayer} × ${sc.dims.nEmbd} on "source = target", ${s2s.steps} steps of ${gptBatch} × ${gptBlock} tokens`);
    const dec = await pretrain({ data: [at('data', 'translation-joined.jsonl')], tokenizer: at('tokenizers', 'bpe-translation'), out: at('models', 'gpt-translation'), preset: 'nano', model: { nLayer: 2 * s2s.nLayer, nHead: sc.dims.nHead, nEmbd: sc.dims.nEmbd, blockSize: gptBlock, dropout: 0.1 }, steps: s2s.steps, batchSize: gptBatch, lr: 1e-3, minLr: 1e-4, warmupSteps: Math.ceil(s2s.steps / 10), evalEvery: 0, valFraction: 0, seed: cfg.seed + 3, force: true });
    dec.model.eval();
    const eot = dec.tokenizer.tokenId('<|endoftext|>');
    const gens = generate(dec.model, test.map((p) => dec.tokenizer.encode(`${p.source} =`)), (l) => argmax(l), { maxTokens: 40, eosIds: [eot] });
    const gptHyps = gens.map((g) => dec.tokenizer.decode(g.tokens).split('\n')[0].trim());
    const gptBleu = corpusBleu(gptHyps, [test.map((p) => p.target)]).score, gptEm = exactMatch(gptHyps, test.map((p) => p.target));

    const params = { bert: countBertParams(bert.model.config).total, gpt1: countParams(gpt.model.config).total, transformer: countTransformerParams(tr.config), gpt_decoder_only: countParams(dec.model.config).total };
    const beats = (a: Record<string, number>, b: Record<string, number>) => PAIR_TASKS.every((t) => a[t] > b[t]);
    const claims: Claim[] = [
      { id: 1, paper: 'BERT', claim: 'finetuned on entailment and similarity, BERT beats a GPT-1 of the same size pretrained on the same text for the same steps × batch × context', verdict: beats(acc.bert, acc.gpt1) ? 'reproduced' : 'not reproduced', figures: { test_acc_bert: acc.bert, test_acc_gpt1: acc.gpt1, params: { bert: params.bert, gpt1: params.gpt1 } } },
      { id: 2, paper: 'BERT', claim: 'MLM + NSP pretraining beats finetuning the same encoder from random initialisation', verdict: beats(acc.bert, acc['bert random init']) ? 'reproduced' : 'not reproduced', figures: { test_acc_pretrained: acc.bert, test_acc_random_init: acc['bert random init'] } },
      { id: 3, paper: 'Transformer', claim: 'on the world\'s translation task the encoder–decoder beats a decoder-only GPT of about the same size and training tokens, in BLEU and exact match (greedy)', verdict: greedy.bleu > gptBleu && greedy.exactMatch > gptEm ? 'reproduced' : 'not reproduced', figures: { bleu_encoder_decoder: r4(greedy.bleu), bleu_decoder_only: r4(gptBleu), exact_match_encoder_decoder: r4(greedy.exactMatch), exact_match_decoder_only: r4(gptEm), params: { transformer: params.transformer, gpt: params.gpt_decoder_only }, sentences: test.length } },
      { id: 4, paper: 'Transformer', claim: 'beam search (width 4, α 0.6) scores higher BLEU than greedy decoding', verdict: beam.bleu > greedy.bleu ? 'reproduced' : 'not reproduced', figures: { bleu_beam4: r4(beam.bleu), bleu_greedy: r4(greedy.bleu), exact_match_beam4: r4(beam.exactMatch), exact_match_greedy: r4(greedy.exactMatch) } },
    ];
    for (const c of claims) onEvent({ type: 'figure', name: `claim ${c.id}`, value: c.verdict === 'reproduced' ? 1 : 0 });
    const result = { experiment: 'bert', quick: cfg.quick, seed: cfg.seed, settings: sc, claims, seconds: Number(((performance.now() - t0) / 1000).toFixed(1)) };
    const charts = [
      barChart('Claim 1: test accuracy, BERT vs GPT-1', PAIR_TASKS.map((t) => ({ label: t, value: acc.bert[t], value2: acc.gpt1[t] })), ['BERT', 'GPT-1']),
      barChart('Claim 2: test accuracy, pretrained vs random init', PAIR_TASKS.map((t) => ({ label: t, value: acc.bert[t], value2: acc['bert random init'][t] })), ['pretrained', 'random init']),
      barChart('Claims 3-4: test BLEU', [{ label: 'enc-dec beam 4', value: beam.bleu }, { label: 'enc-dec greedy', value: greedy.bleu }, { label: 'decoder-only greedy', value: gptBleu }]),
    ];
    const rows = claims.map((c) => `<tr><td>${c.id}</td><td>${c.paper}</td><td>${c.claim}</td><td>${c.verdict}</td><td><code>${JSON.stringify(c.figures).replace(/</g, '&lt;')}</code></td></tr>`).join('\n');
    run.commitSync((staging) => {
      writeFileSync(join(staging, 'claims.json'), JSON.stringify(result, null, 2) + '\n');
      writeFileSync(join(staging, 'report.html'), `<!doctype html><html><head><meta charset="utf-8"><title>gptkit experiment bert</title></head><body><h1>BERT and the Transformer: the claims, measured</h1><table border="1">${rows}</table>${charts.join('\n')}</body></html>\n`);
    });
    onEvent({ type: 'done', out: cfg.out, seconds: result.seconds, claims });
    return { claims };
  });
}
