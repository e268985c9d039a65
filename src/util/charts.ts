// Charts as inline SVG strings (no scripts, no network): the curation report, the experiment reports
// and the ladder's report card draw with these, so every page stays one self-contained file.

export interface Bar {
  label: string;
  value: number;
  /** A second series drawn beside the first (e.g. kept vs all). */
  value2?: number;
}

export function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

export function fmt(x: number): string {
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

export interface Series {
  name: string;
  points: [number, number][];
}

const COLORS = ['#4e79a7', '#f28e2b', '#59a14f', '#e15759', '#76b7b2', '#edc948'];

/** A line chart of one or more series (x, y) with axes, ticks and a legend. */
export function lineChart(title: string, series: Series[], xLabel = 'step', yLabel = ''): string {
  const w = 640, h = 260, left = 60, right = 12, top = 30, bottom = 56;
  const pw = w - left - right, ph = h - top - bottom;
  const pts = series.flatMap((s) => s.points).filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" role="img" aria-label="${esc(title)}" data-points="${pts.length}">`,
    `<text x="${w / 2}" y="18" text-anchor="middle" font-weight="bold">${esc(title)}</text>`,
  ];
  if (!pts.length) {
    parts.push(`<text x="${w / 2}" y="${h / 2}" text-anchor="middle" fill="#888">no data</text></svg>`);
    return parts.join('');
  }
  let [x0, x1] = [Math.min(...pts.map((p) => p[0])), Math.max(...pts.map((p) => p[0]))];
  let [y0, y1] = [Math.min(...pts.map((p) => p[1])), Math.max(...pts.map((p) => p[1]))];
  if (x1 === x0) { x0 -= 1; x1 += 1; }
  if (y1 === y0) { y0 -= Math.abs(y0) * 0.1 + 1e-6; y1 += Math.abs(y1) * 0.1 + 1e-6; }
  const X = (x: number) => left + ((x - x0) / (x1 - x0)) * pw;
  const Y = (y: number) => top + ph - ((y - y0) / (y1 - y0)) * ph;
  parts.push(`<line x1="${left}" y1="${top + ph}" x2="${left + pw}" y2="${top + ph}" stroke="#333"/><line x1="${left}" y1="${top}" x2="${left}" y2="${top + ph}" stroke="#333"/>`);
  for (let i = 0; i <= 4; i++) {
    const yv = y0 + ((y1 - y0) * i) / 4, xv = x0 + ((x1 - x0) * i) / 4;
    parts.push(`<text x="${left - 6}" y="${Y(yv) + 4}" text-anchor="end" font-size="10">${esc(fmt(yv))}</text>`);
    parts.push(`<text x="${X(xv)}" y="${top + ph + 14}" text-anchor="middle" font-size="10">${esc(fmt(xv))}</text>`);
  }
  parts.push(`<text x="${left + pw / 2}" y="${top + ph + 30}" text-anchor="middle" font-size="11">${esc(xLabel)}</text>`);
  if (yLabel) parts.push(`<text x="14" y="${top + ph / 2}" text-anchor="middle" font-size="11" transform="rotate(-90 14 ${top + ph / 2})">${esc(yLabel)}</text>`);
  series.forEach((s, i) => {
    const c = COLORS[i % COLORS.length];
    const p = s.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
    if (p.length === 1) parts.push(`<circle cx="${X(p[0][0]).toFixed(1)}" cy="${Y(p[0][1]).toFixed(1)}" r="3" fill="${c}"/>`);
    else if (p.length) parts.push(`<polyline fill="none" stroke="${c}" stroke-width="1.5" points="${p.map(([x, y]) => `${X(x).toFixed(1)},${Y(y).toFixed(1)}`).join(' ')}"/>`);
    parts.push(`<rect x="${left + i * 150}" y="${h - 14}" width="10" height="10" fill="${c}"/><text x="${left + i * 150 + 14}" y="${h - 5}" font-size="11">${esc(s.name)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('');
}
