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

export interface Bar {
  label: string;
  value: number;
  /** A second series drawn beside the first (e.g. kept vs all). */
  value2?: number;
}

function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function fmt(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  if (Math.abs(x) >= 1e9) return (x / 1e9).toFixed(2) + ' G';
  if (Math.abs(x) >= 1e6) return (x / 1e6).toFixed(2) + ' M';
  if (Math.abs(x) >= 1e4) return (x / 1e3).toFixed(1) + ' k';
  return Number.isInteger(x) ? String(x) : x.toFixed(3);
}

/** A vertical bar chart as an SVG element; `series` names the one or two series for the legend. */
export function barChart(title: string, bars: Bar[], series: [string] | [string, string] = ['value']): string {
  const w = 640;
  const h = 240;
  const left = 60;
  const bottom = 50;
  const top = 30;
  const plotH = h - bottom - top;
  const max = Math.max(1e-12, ...bars.map((b) => Math.max(b.value, b.value2 ?? 0)));
  const slot = (w - left - 10) / Math.max(1, bars.length);
  const two = series.length === 2;
  const bw = Math.max(1, (two ? slot / 2 : slot) * 0.8);
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" role="img" aria-label="${esc(title)}">`,
    `<text x="${w / 2}" y="18" text-anchor="middle" font-weight="bold">${esc(title)}</text>`,
    `<line x1="${left}" y1="${top + plotH}" x2="${w - 10}" y2="${top + plotH}" stroke="#333"/>`,
    `<text x="${left - 6}" y="${top + 4}" text-anchor="end" font-size="11">${esc(fmt(max))}</text>`,
    `<text x="${left - 6}" y="${top + plotH}" text-anchor="end" font-size="11">0</text>`,
  ];
  bars.forEach((b, i) => {
    const x = left + i * slot + slot * 0.1;
    const bar = (v: number, dx: number, color: string): void => {
      const bh = (v / max) * plotH;
      parts.push(`<rect x="${(x + dx).toFixed(1)}" y="${(top + plotH - bh).toFixed(1)}" width="${bw.toFixed(1)}" height="${bh.toFixed(1)}" fill="${color}"><title>${esc(`${b.label}: ${fmt(v)}`)}</title></rect>`);
    };
    bar(b.value, 0, '#4e79a7');
    if (two) bar(b.value2 ?? 0, bw, '#f28e2b');
    if (bars.length <= 24) parts.push(`<text x="${(x + (two ? bw : bw / 2)).toFixed(1)}" y="${top + plotH + 14}" text-anchor="middle" font-size="10">${esc(b.label)}</text>`);
  });
  if (two) {
    parts.push(`<rect x="${left}" y="${h - 16}" width="10" height="10" fill="#4e79a7"/><text x="${left + 14}" y="${h - 7}" font-size="11">${esc(series[0])}</text>`);
    parts.push(`<rect x="${left + 160}" y="${h - 16}" width="10" height="10" fill="#f28e2b"/><text x="${left + 174}" y="${h - 7}" font-size="11">${esc(series[1]!)}</text>`);
  }
  parts.push('</svg>');
  return parts.join('');
}

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
