// The curation report as a self-contained HTML page: tables plus bar charts drawn as inline SVG
// (no scripts, no network). Everything shown comes from the JSON report.

export interface StageStats {
  stage: string;
  docs_in: number;
  docs_out: number;
  bytes_in: number;
  bytes_out: number;
  [extra: string]: unknown;
}

import { barChart, esc, fmt, type Bar } from '../util/charts.ts';

export { barChart, type Bar };

function table(head: string[], rows: (string | number)[][]): string {
  const cell = (v: string | number): string => `<td>${esc(typeof v === 'number' ? fmt(v) : v)}</td>`;
  return `<table><thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>${rows.map((r) => `<tr>${r.map(cell).join('')}</tr>`).join('')}</tbody></table>`;
}

/** The report page. `report` is the JSON report written beside it. */
export function renderHtml(report: Record<string, any>): string {
  const stages = report.stages as StageStats[];
  const body: string[] = ['<h1>gptkit data curate</h1>'];
  const measured = ['dedup_precision', 'dedup_recall', 'classifier_auc'].filter((k) => k in report);
  if (measured.length) body.push('<h2>Measured against the answers</h2>', table(['measure', 'value'], measured.map((k) => [k, report[k] === null ? 'n/a' : report[k]])));
  const pct = (x: number | null | undefined) => (x === null || x === undefined ? 'n/a' : `${(100 * x).toFixed(1)}%`);
  const dd = report.answers?.dedup;
  if (dd?.by_jaccard?.length) {
    body.push('<h3>Fuzzy dedup by planted Jaccard</h3>',
      `<p>${esc(`Recall: of the near duplicates planted in a bin, the share found. Precision: of the documents removed whose planted Jaccard is in the bin (near duplicates, and distinct documents of one template: hard negatives), the share rightly removed. Hard negatives removed: ${dd.hard_negatives.removed} of ${dd.hard_negatives.documents}.`)}</p>`,
      table(['Jaccard', 'near dups planted', 'found', 'recall', 'removed', 'rightly', 'precision'], (dd.by_jaccard as any[]).map((b) => [b.jaccard, b.planted, b.found, pct(b.recall), b.removed, b.correct, pct(b.precision)])),
      barChart('Recall by planted Jaccard (%)', (dd.by_jaccard as any[]).filter((b) => b.planted).map((b) => ({ label: b.jaccard, value: 100 * b.recall }))));
    if (Object.keys(dd.by_near_kind ?? {}).length) body.push(table(['near-duplicate kind', 'planted', 'found', 'recall'], Object.entries(dd.by_near_kind as Record<string, any>).map(([k, v]) => [k, v.planted, v.found, pct(v.recall)])));
  }
  const cl = report.answers?.classifier;
  if (cl?.by_junk_kind && Object.keys(cl.by_junk_kind).length) {
    body.push('<h3>Quality classifier by junk kind</h3>', '<p>ROC AUC of each kind of junk against every good document (1: always scored below good text; 0.5: chance).</p>',
      table(['junk kind', 'documents', 'AUC'], Object.entries(cl.by_junk_kind as Record<string, any>).map(([k, v]) => [k, v.documents, v.auc === null ? 'n/a' : v.auc.toFixed(3)])));
  }
  body.push(
    '<h2>Stages</h2>',
    table(['stage', 'docs in', 'docs out', 'bytes in', 'bytes out', 'kept'], stages.map((s) => [s.stage, s.docs_in, s.docs_out, s.bytes_in, s.bytes_out, s.docs_in ? `${((100 * s.docs_out) / s.docs_in).toFixed(1)}%` : '–'])),
    barChart('Documents in and out of each stage', stages.map((s) => ({ label: s.stage, value: s.docs_in, value2: s.docs_out })), ['in', 'out']),
    barChart('Bytes in and out of each stage', stages.map((s) => ({ label: s.stage, value: s.bytes_in, value2: s.bytes_out })), ['in', 'out']),
  );
  const clf = stages.find((s) => s.stage === 'classifier') as Record<string, any> | undefined;
  if (clf?.score_histogram) {
    const h = clf.score_histogram as { edges: number[]; all: number[]; kept: number[] };
    body.push('<h2>Quality classifier</h2>', `<p>Pareto α = ${esc(String(clf.alpha))}; a document is kept when a Pareto(α) draw exceeds 1 − score.</p>`);
    body.push(barChart('Classifier scores (all documents vs kept)', h.all.map((v, i) => ({ label: h.edges[i].toFixed(2), value: v, value2: h.kept[i] })), ['all', 'kept']));
  }
  const fz = stages.find((s) => s.stage === 'fuzzy_dedup') as Record<string, any> | undefined;
  if (fz?.cluster_sizes) {
    const sizes = Object.entries(fz.cluster_sizes as Record<string, number>);
    body.push('<h2>Fuzzy dedup</h2>', `<p>${esc(`${fz.bands} bands × ${fz.rows} rows of ${fz.num_perm} permutations, threshold ${fz.threshold}: ${fz.clusters} duplicate clusters, ${fz.duplicates} documents removed.`)}</p>`);
    body.push(barChart('Duplicate clusters by size', sizes.map(([k, v]) => ({ label: k, value: v }))));
    if ((fz.largest_clusters as unknown[])?.length) {
      body.push(table(['size', 'kept', 'members (first few)', 'text'], (fz.largest_clusters as any[]).map((c) => [c.size, c.kept, c.members.join(', '), c.preview])));
    }
  }
  const mix = stages.find((s) => s.stage === 'mix') as Record<string, any> | undefined;
  if (mix?.sources) {
    body.push('<h2>Mix</h2>', table(['source', 'weight', 'share', 'source units', 'emitted units', 'epochs'], (mix.sources as any[]).map((s) => [s.name, s.weight, s.share, s.source_units, s.emitted_units, s.epochs])));
    body.push(barChart('Epochs per source', (mix.sources as any[]).map((s) => ({ label: s.name, value: s.epochs }))));
  }
  const sh = stages.find((s) => s.stage === 'shards') as Record<string, any> | undefined;
  if (sh) body.push('<h2>Token shards</h2>', `<p>${esc(`${sh.tokens} tokens (${sh.dtype}) in ${sh.shards} shards, tokenizer ${sh.tokenizer}.`)}</p>`);
  if (report.malformed?.count) {
    body.push('<h2>Malformed records (skipped)</h2>', `<p>${report.malformed.count} records.</p>`, table(['file', 'line', 'problem'], (report.malformed.examples as any[]).map((m) => [m.file, String(m.line), m.message])));
  }
  body.push(`<p>${esc(`${fmt(report.input_bytes)} bytes in ${report.seconds.toFixed(1)} s (${report.mb_per_s.toFixed(2)} MB/s), ${report.threads} worker threads.`)}</p>`);
  return `<!doctype html><html><head><meta charset="utf-8"><title>gptkit data curate report</title><style>
body{font-family:system-ui,sans-serif;max-width:900px;margin:2em auto;color:#222}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}
td:first-child,th:first-child{text-align:left}svg{display:block;margin:1em 0}
</style></head><body>${body.join('\n')}</body></html>\n`;
}
