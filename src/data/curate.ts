// `curate`: GPT-3's data pipeline over a validated config (config.ts). One streaming pass reads the
// curated input in batches; worker threads compute each document's exact-dedup key, quality score
// and MinHash signature (batch.ts); the main thread applies the filter stages in config order.
// Fuzzy dedup needs every signature before it can decide, so documents reaching it are spilled
// to a temporary JSONL file, clustered, and streamed again through the stages after it. Then the
// optional mix and shard stages. Memory: the batches in flight, 16-bit signatures and 16 bytes of
// exact-dedup key per document, and LSH working arrays; never the texts.
//
// Outputs in config.output: curated.jsonl ({"id","text"}), mix.jsonl ({"id","source","text"}) with
// a mix stage, shards/ with a shards stage, classifier.bin when one is trained (unless saved
// elsewhere), report.json and report.html.
import { mkdirSync, rmSync, mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../util/fs.ts';
import { Rng } from '../util/rng.ts';
import { ConfigError } from '../util/errors.ts';
import { readDocuments, type Doc, type Malformed } from './readers.ts';
import { QualityClassifier, paretoKeep } from './classifier.ts';
import { SignatureStore, clusterSignatures, optimalBands } from './minhash.ts';
import { BatchPool, packBatch, sharedClassifier, type BatchOutput } from './batch.ts';
import { JsonlWriter, KeySet } from './jsonl.ts';
import { mixSources, type MixSource, type MixSourceStats } from './mix.ts';
import { ShardWriter, type ShardTokenizer } from './shards.ts';
import { loadAnswers, ClassifierEval, DedupEval } from './evaluate.ts';
import { renderHtml, type StageStats } from './report.ts';
import type { CurateConfig, ClassifierStage, FuzzyDedupStage, FilterStage, MixStage, ShardsStage } from './config.ts';

export interface CurateProgress {
  phase: 'train' | 'read' | 'cluster' | 'dedup' | 'mix' | 'shards' | 'done';
  docs: number;
  bytes: number;
}

export interface CurateOptions {
  config: CurateConfig;
  /** Planted answers (JSONL) to measure dedup and the classifier against. */
  answers?: string | null;
  /** Needed by a shards stage and by a token budget; loaded by the caller from the stage's name. */
  tokenizer?: ShardTokenizer | null;
  onProgress?: (p: CurateProgress) => void;
  /**
   * Where the files are written (the output's staging folder, see util/output.ts); the report names
   * them under config.output, where they land. Default: config.output itself.
   */
  writeDir?: string;
}

const BATCH_BYTES = 1 << 20;
const BATCH_DOCS = 2048;
const HIST_BINS = 20;

/** Per-document facts a stage after the fuzzy barrier still needs, kept in growable typed arrays. */
class Facts {
  scores = new Float32Array(1024);
  keys = new Uint32Array(2048);
  n = 0;
  push(score: number, hi: number, lo: number): void {
    if (this.n === this.scores.length) {
      const s = new Float32Array(this.n * 2);
      s.set(this.scores);
      this.scores = s;
      const k = new Uint32Array(this.n * 4);
      k.set(this.keys);
      this.keys = k;
    }
    this.scores[this.n] = score;
    this.keys[2 * this.n] = hi;
    this.keys[2 * this.n + 1] = lo;
    this.n++;
  }
}

function newStats(stage: string): StageStats {
  return { stage, docs_in: 0, docs_out: 0, bytes_in: 0, bytes_out: 0 };
}

async function head(docs: AsyncIterable<Doc>, n: number): Promise<string[]> {
  const out: string[] = [];
  if (n <= 0) return out;
  for await (const d of docs) {
    out.push(d.text);
    if (out.length >= n) break;
  }
  return out;
}

export async function curate(opts: CurateOptions): Promise<Record<string, unknown>> {
  const cfg = opts.config;
  const t0 = performance.now();
  const progress = opts.onProgress ?? (() => {});
  const wdir = opts.writeDir ?? cfg.output;
  mkdirSync(wdir, { recursive: true });
  const malformed: Malformed[] = [];
  let malformedCount = 0;
  const open = (name: string, paths?: string[]): AsyncGenerator<Doc> => {
    const inp = cfg.inputs[name];
    return readDocuments(paths ?? inp.paths, {
      format: paths ? 'jsonl' : inp.format, textField: paths ? 'text' : inp.textField, idField: paths ? 'id' : inp.idField, txtMode: inp.txtMode,
      onError: cfg.onError,
      onMalformed: (m) => {
        malformedCount++;
        if (malformed.length < 100) malformed.push(m);
      },
    });
  };
  const filters = cfg.stages.filter((s): s is FilterStage => s.stage === 'exact_dedup' || s.stage === 'classifier' || s.stage === 'fuzzy_dedup');
  const clfStage = cfg.stages.find((s): s is ClassifierStage => s.stage === 'classifier') ?? null;
  const fuzzy = cfg.stages.find((s): s is FuzzyDedupStage => s.stage === 'fuzzy_dedup') ?? null;
  const mixStage = cfg.stages.find((s): s is MixStage => s.stage === 'mix') ?? null;
  const shardsStage = cfg.stages.find((s): s is ShardsStage => s.stage === 'shards') ?? null;
  if ((shardsStage || mixStage?.budgetTokens) && !opts.tokenizer) {
    throw new ConfigError(`${shardsStage ? `stage 'shards' (tokenizer '${shardsStage.tokenizer}')` : "mix budgetTokens"} needs a tokenizer, and none was given`);
  }
  const answers = opts.answers ? await loadAnswers(opts.answers) : null;
  const timings: Record<string, number> = {};
  const timed = async <T>(name: string, f: () => Promise<T> | T): Promise<T> => {
    const t = performance.now();
    try {
      return await f();
    } finally {
      timings[name] = (performance.now() - t) / 1000;
    }
  };

  // ---- the classifier: loaded, or trained on the heads of the named inputs ----
  let clf: QualityClassifier | null = null;
  let classifierPath: string | null = null;
  if (clfStage) {
    clf = await timed('classifier_train', async () => {
      if (clfStage.load) return QualityClassifier.load(clfStage.load);
      const t = clfStage.train!;
      progress({ phase: 'train', docs: 0, bytes: 0 });
      const pos: string[] = [];
      const neg: string[] = [];
      for (const name of t.positive) pos.push(...(await head(open(name), t.maxDocs)));
      for (const name of t.negative) neg.push(...(await head(open(name), t.maxDocs)));
      const { positive, negative, maxDocs, ...options } = t;
      const trained = QualityClassifier.train(pos, neg, { ...options, seed: cfg.seed });
      classifierPath = clfStage.save ?? join(cfg.output, 'classifier.bin');
      trained.save(clfStage.save ?? join(wdir, 'classifier.bin'));
      return trained;
    });
    classifierPath ??= clfStage.load;
  }
  let bands = 0;
  let rows = 0;
  if (fuzzy) ({ bands, rows } = fuzzy.bands !== null ? { bands: fuzzy.bands, rows: fuzzy.rows! } : optimalBands(fuzzy.threshold, fuzzy.numPerm, 1 - fuzzy.fnWeight, fuzzy.fnWeight));

  // ---- pass 1: read, filter up to the fuzzy barrier ----
  const barrier = fuzzy ? filters.indexOf(fuzzy) : filters.length;
  const pre = filters.slice(0, barrier);
  const post = filters.slice(barrier + 1);
  const read = newStats('read');
  const stats = new Map<string, StageStats>(filters.map((s) => [s.stage, newStats(s.stage)]));
  const exactSet = new KeySet();
  const paretoRng = new Rng(cfg.seed).fork('pareto');
  const histAll = new Array<number>(HIST_BINS).fill(0);
  const histKept = new Array<number>(HIST_BINS).fill(0);
  const clfEval = answers && clf ? new ClassifierEval(answers) : null;
  const store = fuzzy ? new SignatureStore(fuzzy.numPerm) : null;
  const tmp = mkdtempSync(join(wdir, '.curate-tmp-'));
  const spill = fuzzy ? new JsonlWriter(join(tmp, 'spill.jsonl')) : null;
  const facts = new Facts();
  const curated = new JsonlWriter(join(wdir, 'curated.jsonl'));
  let curatedChars = 0;
  const pool = new BatchPool({ exact: filters.some((s) => s.stage === 'exact_dedup'), minhash: fuzzy ? { numPerm: fuzzy.numPerm, ngram: fuzzy.ngram, seed: cfg.seed + 1 } : null, classifier: clf ? sharedClassifier(clf) : null }, cfg.threads);

  /** Apply one streaming filter; `score`, `hi`, `lo` are the document's facts. */
  const passes = (stage: FilterStage, id: string, score: number, hi: number, lo: number): boolean => {
    if (stage.stage === 'exact_dedup') return exactSet.add(hi, lo);
    const keep = paretoKeep(score, clfStage!.alpha, paretoRng);
    const bin = Math.min(HIST_BINS - 1, Math.floor(score * HIST_BINS));
    histAll[bin]++;
    if (keep) histKept[bin]++;
    clfEval?.add(id, score);
    return keep;
  };
  const runFilters = (list: FilterStage[], id: string, bytes: number, score: number, hi: number, lo: number): boolean => {
    for (const st of list) {
      const s = stats.get(st.stage)!;
      s.docs_in++;
      s.bytes_in += bytes;
      if (!passes(st, id, score, hi, lo)) return false;
      s.docs_out++;
      s.bytes_out += bytes;
    }
    return true;
  };
  const emit = async (doc: Doc): Promise<void> => {
    curatedChars += doc.text.length;
    await curated.write({ id: doc.id, text: doc.text });
  };
  const handleBatch = async (docs: Doc[], lens: number[], out: BatchOutput): Promise<void> => {
    const k = fuzzy?.numPerm ?? 0;
    for (let i = 0; i < docs.length; i++) {
      const score = out.scores ? out.scores[i] : 0;
      const hi = out.keys ? out.keys[2 * i] : 0;
      const lo = out.keys ? out.keys[2 * i + 1] : 0;
      if (!runFilters(pre, docs[i].id, lens[i], score, hi, lo)) continue;
      if (!fuzzy) {
        await emit(docs[i]);
        continue;
      }
      const fz = stats.get('fuzzy_dedup')!;
      fz.docs_in++;
      fz.bytes_in += lens[i];
      store!.add(out.sigs!, i * k, out.shingles![i] === 0);
      facts.push(score, hi, lo);
      await spill!.write({ id: docs[i].id, text: docs[i].text });
    }
  };

  let dedupEval: DedupEval | null = null;
  // A failure anywhere leaves no temporary files behind (the finished outputs are renamed into place only on success).
  try {
    try {
      await timed('read_filter', async () => {
        const inflight: { docs: Doc[]; lens: number[]; result: Promise<BatchOutput> }[] = [];
        let docs: Doc[] = [];
        let lens: number[] = [];
        let bytes = 0;
        const maxInflight = 2 * Math.max(1, cfg.threads) + 1;
        /** Send the current batch to the pool; handle finished batches while too many are in flight (all, at the end). */
        const submit = async (drain: boolean): Promise<void> => {
          if (docs.length) {
            const result = pool.process(packBatch(docs.map((d) => d.text), bytes));
            // Awaited in order below; if an earlier batch fails first, this one's error is not unhandled.
            result.catch(() => {});
            inflight.push({ docs, lens, result });
          }
          docs = [];
          lens = [];
          bytes = 0;
          while (inflight.length > (drain ? 0 : maxInflight)) {
            const b = inflight.shift()!;
            await handleBatch(b.docs, b.lens, await b.result);
          }
        };
        for await (const doc of open(cfg.curate)) {
          const len = Buffer.byteLength(doc.text, 'utf8');
          read.docs_in++;
          read.docs_out++;
          read.bytes_in += len;
          read.bytes_out += len;
          docs.push(doc);
          lens.push(len);
          bytes += len;
          if (bytes >= BATCH_BYTES || docs.length >= BATCH_DOCS) {
            await submit(false);
            progress({ phase: 'read', docs: read.docs_in, bytes: read.bytes_in });
          }
        }
        await submit(true);
      });
    } finally {
      await pool.close();
    }

    // ---- fuzzy dedup: cluster, then stream the survivors through the stages after it ----
    if (fuzzy) {
      await spill!.close();
      progress({ phase: 'cluster', docs: store!.count, bytes: 0 });
      const { roots, candidatePairs, confirmedPairs } = await timed('cluster', () => clusterSignatures(store!, { bands, rows, threshold: fuzzy.threshold }));
      const size = new Int32Array(roots.length);
      for (let d = 0; d < roots.length; d++) size[roots[d]]++;
      const sizeHist: Record<string, number> = {};
      let clusters = 0;
      const roots2: number[] = [];
      for (let d = 0; d < roots.length; d++) {
        if (roots[d] !== d || size[d] < 2) continue;
        clusters++;
        roots2.push(d);
        const key = size[d] >= 10 ? '10+' : String(size[d]);
        sizeHist[key] = (sizeHist[key] ?? 0) + 1;
      }
      const largest = roots2.sort((a, b) => size[b] - size[a] || a - b).slice(0, 10);
      const examples = new Map(largest.map((r) => [r, { size: size[r], kept: '', members: [] as string[], preview: '' }]));
      dedupEval = answers ? new DedupEval(answers) : null;
      const fz = stats.get('fuzzy_dedup')!;
      await timed('dedup_write', async () => {
        progress({ phase: 'dedup', docs: 0, bytes: 0 });
        let d = 0;
        for await (const doc of open(cfg.curate, [join(tmp, 'spill.jsonl')])) {
          const root = roots[d];
          const bytes = Buffer.byteLength(doc.text, 'utf8');
          dedupEval?.add(doc.id, d, root);
          const ex = examples.get(root);
          if (ex) {
            if (root === d) {
              ex.kept = doc.id;
              ex.preview = doc.text.slice(0, 120);
            } else if (ex.members.length < 5) ex.members.push(doc.id);
          }
          if (root === d) {
            fz.docs_out++;
            fz.bytes_out += bytes;
            if (runFilters(post, doc.id, bytes, facts.scores[d], facts.keys[2 * d], facts.keys[2 * d + 1])) await emit(doc);
          }
          d++;
          if (d % 10000 === 0) progress({ phase: 'dedup', docs: d, bytes: 0 });
        }
      });
      Object.assign(fz, {
        threshold: fuzzy.threshold, num_perm: fuzzy.numPerm, ngram: fuzzy.ngram, fn_weight: fuzzy.fnWeight, bands, rows,
        clusters, duplicates: fz.docs_in - fz.docs_out, candidate_pairs: candidatePairs, confirmed_pairs: confirmedPairs,
        cluster_sizes: sizeHist, largest_clusters: [...examples.values()], signature_mb: Number((store!.bytes() / 2 ** 20).toFixed(1)),
      });
    }
    await curated.close();
  } catch (e) {
    spill?.abort();
    curated.abort();
    throw e;
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  if (read.docs_in === 0) {
    const first = malformed[0];
    throw new ConfigError(`no usable documents in input '${cfg.curate}' (${cfg.inputs[cfg.curate].paths.join(', ')})${malformedCount ? `: all ${malformedCount} records were malformed, the first ${first.file}:${first.line}: ${first.message}` : ': the files hold no records'}`, 'check the paths, the format and textField');
  }
  const stageList: StageStats[] = [read, ...filters.map((s) => stats.get(s.stage)!)];
  if (clfStage) {
    Object.assign(stats.get('classifier')!, {
      alpha: clfStage.alpha, classifier: classifierPath, training: clf!.header.training,
      score_histogram: { edges: Array.from({ length: HIST_BINS }, (_, i) => i / HIST_BINS), all: histAll, kept: histKept },
    });
  }
  const curatedStats = stageList[stageList.length - 1];

  // ---- mix ----
  const tokenizer = opts.tokenizer ?? null;
  if (mixStage) {
    const measure = mixStage.budgetTokens ? (d: Doc) => tokenizer!.encode(d.text).length : (d: Doc) => d.text.length;
    const sources: MixSource[] = [];
    let sourceBytes = 0;
    for (const [name, weight] of Object.entries(mixStage.sources)) {
      const openSource = name === cfg.curate ? () => open(name, [join(wdir, 'curated.jsonl')]) : () => open(name);
      let units = 0;
      let docs = 0;
      let bytes = 0;
      if (name === cfg.curate && !mixStage.budgetTokens) {
        units = curatedChars;
        docs = curatedStats.docs_out;
        bytes = curatedStats.bytes_out;
      } else {
        for await (const d of openSource()) {
          units += measure(d);
          docs++;
          bytes += Buffer.byteLength(d.text, 'utf8');
        }
      }
      sourceBytes += bytes;
      sources.push({ name, weight, units, docs, open: openSource });
    }
    const mixStats: MixSourceStats[] = [];
    const st = newStats('mix');
    st.docs_in = sources.reduce((s, x) => s + x.docs, 0);
    const out = new JsonlWriter(join(wdir, 'mix.jsonl'));
    await timed('mix', async () => {
      progress({ phase: 'mix', docs: 0, bytes: 0 });
      for await (const { source, doc } of mixSources(sources, { budget: (mixStage.budgetChars ?? mixStage.budgetTokens)!, measure, seed: cfg.seed }, mixStats)) {
        st.docs_out++;
        st.bytes_out += Buffer.byteLength(doc.text, 'utf8');
        await out.write({ id: doc.id, source, text: doc.text });
        if (st.docs_out % 10000 === 0) progress({ phase: 'mix', docs: st.docs_out, bytes: st.bytes_out });
      }
    });
    await out.close();
    st.bytes_in = sourceBytes;
    Object.assign(st, { budget: mixStage.budgetChars ?? mixStage.budgetTokens, unit: mixStage.budgetChars ? 'chars' : 'tokens', sources: mixStats });
    stageList.push(st);
  }

  // ---- shards ----
  if (shardsStage) {
    const dir = join(wdir, 'shards');
    rmSync(dir, { recursive: true, force: true });
    const w = new ShardWriter(dir, tokenizer!, shardsStage.shardTokens);
    const st = newStats('shards');
    let tokens = 0;
    await timed('shards', async () => {
      progress({ phase: 'shards', docs: 0, bytes: 0 });
      for await (const doc of open(cfg.curate, [join(wdir, mixStage ? 'mix.jsonl' : 'curated.jsonl')])) {
        st.docs_in++;
        st.bytes_in += Buffer.byteLength(doc.text, 'utf8');
        tokens += w.add(doc.text);
        if (st.docs_in % 10000 === 0) progress({ phase: 'shards', docs: st.docs_in, bytes: st.bytes_in });
      }
    });
    const index = w.finish();
    st.docs_out = st.docs_in;
    st.bytes_out = index.shards.reduce((s, x) => s + x.tokens, 0) * (index.dtype === 'uint16' ? 2 : 4);
    Object.assign(st, { tokens, dtype: index.dtype, shards: index.shards.length, tokenizer: index.tokenizer, dir: join(cfg.output, 'shards') });
    stageList.push(st);
  }

  const seconds = (performance.now() - t0) / 1000;
  const report: Record<string, unknown> = {};
  if (answers) {
    const c = clfEval?.result();
    const d = dedupEval?.result();
    report.dedup_precision = d ? d.precision : null;
    report.dedup_recall = d ? d.recall : null;
    report.classifier_auc = c ? c.auc : null;
    report.answers = { file: opts.answers, classifier: c ?? null, dedup: d ?? null };
  }
  Object.assign(report, {
    input_docs: read.docs_in, input_bytes: read.bytes_in, curated_docs: curatedStats.docs_out, curated_bytes: curatedStats.bytes_out,
    seconds, mb_per_s: read.bytes_in / 1e6 / Math.max(seconds, 1e-9), threads: cfg.threads, timings,
    stages: stageList, malformed: { count: malformedCount, examples: malformed },
    outputs: {
      curated: join(cfg.output, 'curated.jsonl'), ...(mixStage ? { mix: join(cfg.output, 'mix.jsonl') } : {}),
      ...(shardsStage ? { shards: join(cfg.output, 'shards') } : {}), ...(classifierPath ? { classifier: classifierPath } : {}),
    },
    config: cfg,
  });
  writeFileAtomic(join(wdir, 'report.json'), JSON.stringify(report, null, 1) + '\n');
  writeFileAtomic(join(wdir, 'report.html'), renderHtml(report));
  progress({ phase: 'done', docs: curatedStats.docs_out, bytes: curatedStats.bytes_out });
  return report;
}
