// The training dashboard: the curves of a run's metrics.jsonl (loss with validation loss, learning
// rate, tokens/s, gradient norm; reward, KL and win rates for PPO runs — every numeric field gets
// a chart), kept up to date from the server's live stream of new records.
import { api, sse, config, header, el } from './common.js';

const $ = (id) => document.getElementById(id);
const SKIP = new Set(['step', 'tokens', 'elapsed_sec', 'epoch', 'iteration']);
/** Fields drawn together in one chart. */
const GROUPS = { loss: ['loss', 'val_loss'] };
const COLORS = ['#2f6fde', '#e07b24', '#2a9d6f', '#b23a8f', '#777'];
const records = [];

function series(field) {
  return records.filter((r) => typeof r[field] === 'number' && Number.isFinite(r[field]) && typeof r.step === 'number').map((r) => [r.step, r[field]]);
}

function charts() {
  const fields = new Set();
  for (const r of records) for (const [k, v] of Object.entries(r)) if (typeof v === 'number' && !SKIP.has(k)) fields.add(k);
  const grouped = new Set(Object.values(GROUPS).flat());
  const out = [];
  for (const [name, members] of Object.entries(GROUPS)) {
    const present = members.filter((m) => fields.has(m));
    if (present.length) out.push([name, present]);
  }
  for (const f of fields) if (!grouped.has(f)) out.push([f, [f]]);
  return out;
}

const fmt = (v) => (Math.abs(v) >= 1000 ? `${(v / 1000).toFixed(1)}k` : Math.abs(v) < 0.01 && v !== 0 ? v.toExponential(1) : v.toPrecision(3));

function svgChart(lines) {
  const W = 300, H = 180, L = 42, B = 20, T = 8, R = 8;
  const all = lines.flatMap((l) => l.points);
  if (!all.length) return '';
  let [x0, x1] = [Math.min(...all.map((p) => p[0])), Math.max(...all.map((p) => p[0]))];
  let [y0, y1] = [Math.min(...all.map((p) => p[1])), Math.max(...all.map((p) => p[1]))];
  if (x0 === x1) x1 = x0 + 1;
  if (y0 === y1) { y0 -= 1; y1 += 1; }
  const sx = (x) => L + ((x - x0) / (x1 - x0)) * (W - L - R);
  const sy = (y) => T + (1 - (y - y0) / (y1 - y0)) * (H - T - B);
  const paths = lines.map((l, i) => {
    const d = l.points.map((p, j) => `${j ? 'L' : 'M'}${sx(p[0]).toFixed(1)},${sy(p[1]).toFixed(1)}`).join('');
    const dot = l.points.length === 1 ? `<circle cx="${sx(l.points[0][0])}" cy="${sy(l.points[0][1])}" r="2.5" fill="${COLORS[i]}"/>` : '';
    return `<path d="${d}" fill="none" stroke="${COLORS[i]}" stroke-width="1.6" data-field="${l.name}"/>${dot}`;
  }).join('');
  const legend = lines.length > 1 ? lines.map((l, i) => `<text x="${W - R - 4}" y="${T + 12 + 12 * i}" text-anchor="end" style="fill:${COLORS[i]}">${l.name}</text>`).join('') : '';
  return `<svg viewBox="0 0 ${W} ${H}" preserveAspectRatio="none">
    <line class="axis" x1="${L}" y1="${H - B}" x2="${W - R}" y2="${H - B}"/><line class="axis" x1="${L}" y1="${T}" x2="${L}" y2="${H - B}"/>
    <text x="${L - 4}" y="${T + 8}" text-anchor="end">${fmt(y1)}</text><text x="${L - 4}" y="${H - B}" text-anchor="end">${fmt(y0)}</text>
    <text x="${L}" y="${H - 6}">${fmt(x0)}</text><text x="${W - R}" y="${H - 6}" text-anchor="end">step ${fmt(x1)}</text>
    ${paths}${legend}</svg>`;
}

function draw() {
  const box = $('charts');
  box.textContent = '';
  for (const [name, fields] of charts()) {
    const c = el('div', 'chart panel');
    c.dataset.chart = name;
    const last = fields.map((f) => series(f).at(-1)).filter(Boolean);
    c.append(el('h3', '', `${name}${last.length ? ` — ${fmt(last[0][1])}` : ''}`));
    c.insertAdjacentHTML('beforeend', svgChart(fields.map((f) => ({ name: f, points: series(f) }))));
    box.append(c);
  }
  const sample = records.filter((r) => typeof r.sample === 'string').at(-1);
  if (sample) {
    $('sample-panel').hidden = false;
    $('sample').textContent = sample.sample;
    $('sample-step').textContent = `(step ${sample.step})`;
  }
  const steps = records.filter((r) => typeof r.step === 'number').map((r) => r.step);
  $('status').textContent = records.length ? `${records.length} records, up to step ${Math.max(...steps)} · live` : 'no records yet · waiting for the run to write metrics.jsonl';
}

async function live() {
  const r = await api('/ui/api/metrics/stream');
  for await (const data of sse(r)) {
    records.push(...JSON.parse(data));
    draw();
  }
}

config().then((c) => {
  header('/dashboard', c);
  if (!c.run) { $('status').textContent = 'no run directory: start the server with --run DIR'; return; }
  draw();
  return live();
}).catch((e) => { $('status').textContent = `error: ${e.message}`; });
