// The report card of a ladder run: one section per system of the lineage (Transformer, BERT, GPT-1,
// GPT-2, GPT-3 model and data, InstructGPT, ChatGPT), each with the paper's claim, what this run
// measured (with standard errors), a verdict — reproduced, not reproduced, or not run at this preset —
// and plots drawn from the stages' figures and metrics logs. report.json holds the same as data;
// report.html is one self-contained page (inline SVG and CSS, no scripts, no network).
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { OutputDir } from '../util/output.ts';
import { resultKey } from '../eval/harness.ts';
import { barChart, lineChart, esc, type Series } from '../util/charts.ts';

export type Verdict = 'reproduced' | 'not reproduced' | 'not run at this preset';

export interface ReportClaim {
  claim: string;
  measured: string;
  verdict: Verdict;
}

export interface ReportSection {
  id: string;
  title: string;
  paper: string;
  claims: ReportClaim[];
  /** Inline SVG charts. */
  plots: string[];
  /** Extra HTML (tables, transcripts), already escaped. */
  extra: string;
}

export interface ReportInput {
  preset: string;
  scale: unknown;
  figures: Record<string, Record<string, any>>;
  dirs: Record<string, string>;
}

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
const pm = (x: number, se: number) => `${pct(x)} ± ${(100 * se).toFixed(1)}`;
const NOT_RUN: Verdict = 'not run at this preset';
/** A preference is a finding when the win rate stays above one half by two standard errors. */
const preferred = (r: { win_rate: number; stderr: number }) => r.win_rate - 2 * r.stderr > 0.5;

function metrics(dir: string | undefined): Record<string, any>[] {
  const p = dir ? join(dir, 'metrics.jsonl') : '';
  if (!p || !existsSync(p)) return [];
  return readFileSync(p, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
}

function curve(rows: Record<string, any>[], x: string, y: string): [number, number][] {
  return rows.filter((r) => typeof r[y] === 'number' && typeof r[x] === 'number').map((r) => [r[x], r[y]]);
}

/** A claim of an experiment stage (`experiment gpt`, `bert`, `instructgpt`) by its number, as a report claim. */
function gptClaim(f: Record<string, any>, id: number, what = 'gptkit experiment gpt'): ReportClaim {
  const c = (f.claims as { id: number; claim: string; verdict: Verdict; figures: Record<string, unknown> }[] | undefined)?.find((x) => x.id === id);
  if (!c) return { claim: `claim ${id} of ${what}`, measured: 'not run in this ladder run', verdict: NOT_RUN };
  const figs = Object.entries(c.figures).map(([k, v]) => `${k} ${typeof v === 'number' ? Number(v.toFixed(4)) : JSON.stringify(v)}`).join('; ');
  return { claim: c.claim, measured: `${figs} (experiment at ${f.size} size)`, verdict: c.verdict };
}

/** Bars of an experiment's claims: each numeric figure pair side by side (accuracies, BLEU…). */
function claimBars(f: Record<string, any> | undefined, ids: number[]): string[] {
  const claims = (f?.claims ?? []) as { id: number; paper: string; figures: Record<string, unknown> }[];
  return claims.filter((c) => ids.includes(c.id)).map((c) => {
    const nums = Object.entries(c.figures).flatMap(([k, v]) => (typeof v === 'number' ? [[k, v] as const] : v && typeof v === 'object' && !Array.isArray(v)
      ? Object.entries(v as Record<string, unknown>).filter(([, x]) => typeof x === 'number').map(([kk, x]) => [`${k} ${kk}`, x as number] as const) : []));
    return barChart(`${c.paper}: claim ${c.id}`, nums.filter(([k]) => !/params|sentences/.test(k)).slice(0, 8).map(([label, value]) => ({ label: label.replace(/_/g, ' '), value })));
  }).filter((svg) => svg.includes('<rect'));
}

function table(head: string[], rows: string[][]): string {
  return `<table><tr>${head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr>${rows.map((r) => `<tr>${r.map((c) => `<td>${esc(c)}</td>`).join('')}</tr>`).join('')}</table>`;
}

/** The sections, from the stages' figures. Missing stages give "not run at this preset". */
export function reportSections(inp: ReportInput): ReportSection[] {
  const f = inp.figures;
  const claims = f.claims ?? {};
  const sections: ReportSection[] = [];

  sections.push({
    id: 'transformer', title: 'Transformer (2017)', paper: 'Vaswani et al., Attention Is All You Need',
    claims: [gptClaim(f.bert ?? {}, 3, 'gptkit experiment bert'), gptClaim(f.bert ?? {}, 4, 'gptkit experiment bert')],
    plots: claimBars(f.bert, [3, 4]), extra: '',
  });
  sections.push({
    id: 'bert', title: 'BERT', paper: 'Devlin et al., 2018',
    claims: [gptClaim(f.bert ?? {}, 1, 'gptkit experiment bert'), gptClaim(f.bert ?? {}, 2, 'gptkit experiment bert')],
    plots: claimBars(f.bert, [1, 2]), extra: '',
  });

  // GPT-1: the run's own finetuned model, and claims 1–2 of the experiment.
  const ft = f.finetune ?? {};
  const ftPlots: string[] = [];
  const ftClaims: ReportClaim[] = [gptClaim(claims, 1), gptClaim(claims, 2)];
  if (ft.test) {
    const evShots: number[] = f.eval?.shots ?? [0];
    const zero = evShots.includes(0) ? f.eval?.results?.[resultKey(ft.task, 0, evShots.length > 1)] : undefined;
    const acc = ft.test.acc as number, se = ft.test.acc_stderr as number;
    ftClaims.push({
      claim: `Pretrain, then finetune with the task head (L = L_task + 0.5·L_LM): the labelled task is learned (${ft.task}).`,
      measured: `test accuracy ${pm(acc, se)} with the head${zero ? `, against ${pm(zero.acc, zero.acc_stderr)} zero-shot by prompting` : ''}; validation ${ft.val_acc !== null && ft.val_acc !== undefined ? pct(ft.val_acc) : '—'}`,
      verdict: zero ? (acc - 2 * se > zero.acc ? 'reproduced' : 'not reproduced') : (acc > 0.6 ? 'reproduced' : 'not reproduced'),
    });
    ftPlots.push(barChart(`GPT-1: ${ft.task} test accuracy`, [{ label: 'finetuned head', value: acc }, ...(zero ? [{ label: 'zero-shot prompt', value: zero.acc }] : [])]));
  }
  const ftCurve = metrics(inp.dirs.finetune);
  if (ftCurve.length) ftPlots.push(lineChart('GPT-1 finetuning loss', [{ name: 'train loss', points: curve(ftCurve, 'step', 'loss') }]));
  sections.push({ id: 'gpt1', title: 'GPT-1', paper: 'Radford et al., 2018', claims: ftClaims, plots: ftPlots, extra: '' });

  // GPT-2: the pretrained model's curves, zero-shot accuracies, and claim 3.
  const pre = metrics(inp.dirs.pretrain);
  const g2Plots: string[] = [];
  if (pre.length) g2Plots.push(lineChart('Pretraining loss', [{ name: 'train', points: curve(pre, 'step', 'loss') }, { name: 'validation', points: curve(pre, 'step', 'val_loss') }], 'step', 'loss'));
  const ev = f.eval ?? {};
  const shots: number[] = ev.shots ?? [];
  const tasks = [...new Set(Object.keys(ev.results ?? {}).map((k) => k.replace(/\|\d+-shot$/, '')))];
  const accAt = (t: string, k: number) => (ev.results?.[resultKey(t, k, shots.length > 1)] ?? null) as { acc?: number; acc_stderr?: number; exact_match?: number } | null;
  const zeroRows = tasks.map((t) => { const r = accAt(t, shots[0] ?? 0); return [t, r?.acc !== undefined ? pm(r.acc, r.acc_stderr ?? 0) : r?.exact_match !== undefined ? `EM ${pct(r.exact_match)}` : '—']; });
  sections.push({
    id: 'gpt2', title: 'GPT-2', paper: 'Radford et al., 2019',
    claims: [gptClaim(claims, 3), {
      claim: 'A pre-LN byte-level-BPE language model trained on the corpus learns it (validation loss falls).',
      measured: pre.length ? `validation loss ${curve(pre, 'step', 'val_loss').map(([, y]) => y.toFixed(3)).filter((_, i, a) => i === 0 || i === a.length - 1).join(' → ')}` : '—',
      verdict: (() => { const v = curve(pre, 'step', 'val_loss'); return v.length >= 2 ? (v.at(-1)![1] < v[0][1] ? 'reproduced' : 'not reproduced') : NOT_RUN; })(),
    }],
    plots: g2Plots,
    extra: tasks.length ? `<h4>Zero-shot accuracy of the run's model (test split, first ${ev.limit} items)</h4>${table(['task', 'accuracy'], zeroRows)}` : '',
  });

  // GPT-3: accuracy by shots (the run's model) and claim 4; data: curation and claim 5.
  const g3Plots: string[] = [];
  if (tasks.length && shots.length > 1) {
    const series: Series[] = tasks.map((t) => ({ name: t, points: shots.map((k) => [k, accAt(t, k)?.acc ?? NaN] as [number, number]) }));
    g3Plots.push(lineChart('Accuracy by number of demonstrations', series, 'shots', 'accuracy'));
  }
  const byShots = shots.length > 1 ? shots.map((k) => tasks.map((t) => accAt(t, k)?.acc).filter((x): x is number => typeof x === 'number')) : [];
  const meanAt = byShots.map((xs) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN));
  sections.push({
    id: 'gpt3', title: 'GPT-3 (model)', paper: 'Brown et al., 2020',
    claims: [gptClaim(claims, 4), {
      claim: 'In-context learning: few-shot prompts beat zero-shot prompts, with no gradient update.',
      measured: meanAt.length ? `mean accuracy over ${tasks.length} tasks: ${shots.map((k, i) => `${k}-shot ${pct(meanAt[i])}`).join(', ')} (the run's own model)` : '—',
      verdict: meanAt.length ? (meanAt.at(-1)! > meanAt[0] ? 'reproduced' : 'not reproduced') : NOT_RUN,
    }],
    plots: g3Plots, extra: '',
  });
  const cu = f.curate ?? {};
  const dataPlots: string[] = [];
  if (cu.stages) dataPlots.push(barChart('Documents in and out of each curation stage', (cu.stages as { stage: string; docs_in: number; docs_out: number }[]).map((s) => ({ label: s.stage, value: s.docs_in, value2: s.docs_out })), ['in', 'out']));
  sections.push({
    id: 'gpt3-data', title: 'GPT-3 (data)', paper: 'Brown et al., 2020, Appendix A',
    claims: [gptClaim(claims, 5), {
      claim: 'Curation finds the crawl\'s junk and near-duplicates: a logistic-regression quality classifier and MinHash-LSH fuzzy dedup.',
      measured: cu.dedup_precision !== undefined ? `dedup precision ${pct(cu.dedup_precision)}, recall ${pct(cu.dedup_recall)}; classifier AUC ${Number(cu.classifier_auc).toFixed(3)} (against the world's planted answers); ${cu.input_docs} → ${cu.curated_docs} documents` : '—',
      verdict: cu.dedup_precision !== undefined ? (cu.dedup_precision > 0.8 && cu.dedup_recall > 0.8 && cu.classifier_auc > 0.8 ? 'reproduced' : 'not reproduced') : NOT_RUN,
    }],
    plots: dataPlots, extra: '',
  });

  // InstructGPT: RM vs labelers, PPO curves, win rates and rates per model.
  const r = f.rm ?? {};
  const j = f.judge ?? {};
  const igPlots: string[] = [];
  const igClaims: ReportClaim[] = [];
  if (r.accuracy !== undefined) {
    const se = Math.sqrt(r.accuracy * (1 - r.accuracy) / Math.max(1, r.pairs));
    igClaims.push({
      claim: 'The reward model, trained on K-wise rankings, agrees with held-out rankings about as often as two labelers agree (paper: 69.6% vs 72.6%).',
      measured: `RM held-out pairwise accuracy ${pm(r.accuracy, se)} on ${r.pairs} pairs; a second labeler agrees on ${r.labeler_agreement !== null ? pct(r.labeler_agreement) : '—'}`,
      verdict: r.labeler_agreement !== null && r.labeler_agreement !== undefined ? (Math.abs(r.accuracy - r.labeler_agreement) <= 0.05 ? 'reproduced' : 'not reproduced') : NOT_RUN,
    });
    igPlots.push(barChart('Reward model accuracy vs labeler agreement', [{ label: 'reward model', value: r.accuracy }, { label: 'second labeler', value: r.labeler_agreement ?? 0 }]));
  }
  const ppoRows = metrics(inp.dirs.ppo).filter((m) => 'reward' in m);
  if (ppoRows.length) {
    igPlots.push(lineChart('PPO: mean reward per iteration', [{ name: 'reward', points: curve(ppoRows, 'iteration', 'reward') }], 'iteration', 'reward'));
    igPlots.push(lineChart('PPO: KL to the SFT model per iteration', [{ name: 'KL', points: curve(ppoRows, 'iteration', 'kl') }], 'iteration', 'KL'));
  }
  if (j.ppo_vs_sft && j.sft_vs_pretrained) {
    const a = j.ppo_vs_sft, b = j.sft_vs_pretrained, c = j.ppo_vs_pretrained;
    igClaims.push({
      claim: 'Labelers prefer PPO-ptx to SFT, and SFT to the pretrained model prompted few-shot.',
      measured: `PPO-ptx vs SFT: ${pm(a.win_rate, a.stderr)} wins; SFT vs pretrained few-shot: ${pm(b.win_rate, b.stderr)}; PPO-ptx vs pretrained: ${pm(c.win_rate, c.stderr)} (${a.prompts} held-out prompts)`,
      verdict: preferred(a) && preferred(b) ? 'reproduced' : 'not reproduced',
    });
    const rate = (k: 'honest' | 'harmless') => ({ pre: b.baseline[k] as number, sft: b.model[k] as number, ppo: c.model[k] as number });
    const h = rate('honest'), hm = rate('harmless');
    igClaims.push({
      claim: 'Honest and harmless answers are more frequent after SFT and PPO than from the pretrained model.',
      measured: `honest: pretrained ${pct(h.pre)}, SFT ${pct(h.sft)}, PPO ${pct(h.ppo)}; harmless: pretrained ${pct(hm.pre)}, SFT ${pct(hm.sft)}, PPO ${pct(hm.ppo)}`,
      verdict: h.sft > h.pre && h.ppo > h.pre && hm.sft >= hm.pre && hm.ppo >= hm.pre ? 'reproduced' : 'not reproduced',
    });
    igPlots.push(barChart('Labeler win rates', [{ label: 'PPO vs SFT', value: a.win_rate }, { label: 'SFT vs pretrained', value: b.win_rate }, { label: 'PPO vs pretrained', value: c.win_rate }]));
    igPlots.push(barChart('Honest and harmless answers', [{ label: 'pretrained', value: h.pre, value2: hm.pre }, { label: 'SFT', value: h.sft, value2: hm.sft }, { label: 'PPO-ptx', value: h.ppo, value2: hm.ppo }], ['honest', 'harmless']));
  }
  const ex = f['rlhf-claims'] ?? {};
  igClaims.push(gptClaim(ex, 3, 'gptkit experiment instructgpt'), gptClaim(ex, 5, 'gptkit experiment instructgpt'), gptClaim(ex, 6, 'gptkit experiment instructgpt'));
  sections.push({ id: 'instructgpt', title: 'InstructGPT', paper: 'Ouyang et al., 2022', claims: igClaims, plots: igPlots, extra: examplesHtml(j) });

  // ChatGPT: the aligned model in conversation.
  const conv = (j.conversation ?? []) as { role: string; content: string }[];
  const cp = j.ppo_vs_pretrained;
  sections.push({
    id: 'chatgpt', title: 'ChatGPT', paper: 'OpenAI, 2022',
    claims: [{
      claim: 'Multi-turn chat with the aligned model, served: people prefer talking to it over the model it started from.',
      measured: cp ? `a ${conv.filter((m) => m.role === 'user').length}-turn conversation below; labelers prefer its answers to the pretrained model's in ${pm(cp.win_rate, cp.stderr)} of ${cp.prompts} prompts. Talk to it: npx gptkit chat --model ${inp.dirs.ppo}` : '—',
      verdict: cp ? (preferred(cp) ? 'reproduced' : 'not reproduced') : NOT_RUN,
    }],
    plots: cp ? [barChart('Preferred over the pretrained model', [{ label: 'PPO-ptx chat model', value: cp.win_rate }, { label: 'SFT', value: j.sft_vs_pretrained?.win_rate ?? 0 }])] : [],
    extra: conv.length ? `<div class="chat">${conv.map((m) => `<p class="${esc(m.role)}"><b>${esc(m.role)}</b> ${esc(m.content)}</p>`).join('')}</div>` : '',
  });
  return sections;
}

function examplesHtml(j: Record<string, any>): string {
  const ex = j.ppo_vs_pretrained?.examples as { prompt: string; model: string; baseline: string }[] | undefined;
  if (!ex?.length) return '';
  return `<h4>Before and after alignment (held-out prompts)</h4>${table(['prompt', 'pretrained, few-shot', 'PPO-ptx'], ex.map((e) => [e.prompt, e.baseline, e.model]))}`;
}

export function reportHtml(inp: ReportInput, sections: ReportSection[]): string {
  const verdicts = sections.flatMap((s) => s.claims.map((c) => [s.title, c.claim, c.verdict] as const));
  const cls = (v: Verdict) => (v === 'reproduced' ? 'ok' : v === 'not reproduced' ? 'no' : 'na');
  const body = sections.map((s) => `<section id="${s.id}">
<h2>${esc(s.title)} <small>${esc(s.paper)}</small></h2>
<table class="claims"><tr><th>claim</th><th>measured</th><th>verdict</th></tr>
${s.claims.map((c) => `<tr><td>${esc(c.claim)}</td><td>${esc(c.measured)}</td><td class="${cls(c.verdict)}">${c.verdict}</td></tr>`).join('\n')}
</table>
<div class="plots">${s.plots.join('\n')}</div>
${s.extra}
</section>`).join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>gptkit report card</title>
<style>
body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
h1{margin-bottom:0}h2{border-bottom:1px solid #ddd;padding-bottom:4px;margin-top:2em}h2 small{font-weight:normal;color:#777;font-size:60%}
table{border-collapse:collapse;margin:.5em 0;width:100%}td,th{border:1px solid #ddd;padding:4px 8px;vertical-align:top;text-align:left;font-size:14px}
.ok{color:#0a0;font-weight:bold}.no{color:#c00;font-weight:bold}.na{color:#888}
.plots{display:flex;flex-wrap:wrap;gap:8px}.chat p{margin:.3em 0;padding:.4em .6em;border-radius:6px}.chat .user{background:#eef}.chat .assistant{background:#efe}
</style></head><body>
<h1>gptkit report card</h1>
<p>Preset <b>${esc(inp.preset)}</b>: every paper's claim, what this run measured, and a verdict. A preference counts as reproduced when its win rate is above ½ by two standard errors; accuracies are given ± one standard error. Made by <code>gptkit ladder</code>; <code>gptkit report --run DIR</code> draws it again.</p>
<h2>Verdicts</h2>
<table><tr><th>system</th><th>claim</th><th>verdict</th></tr>${verdicts.map(([t, c, v]) => `<tr><td>${esc(t)}</td><td>${esc(c)}</td><td class="${cls(v)}">${v}</td></tr>`).join('')}</table>
${body}
</body></html>
`;
}

/** Write report.json and report.html into the run folder (one transaction). */
export function writeReport(run: OutputDir, inp: ReportInput): { html: string; json: string } {
  const sections = reportSections(inp);
  const json = { preset: inp.preset, scale: inp.scale, sections: sections.map(({ plots, extra, ...s }) => ({ ...s, plots: plots.length })), figures: inp.figures };
  run.commitSync((staging) => {
    writeFileSync(join(staging, 'report.json'), JSON.stringify(json, null, 1) + '\n');
    writeFileSync(join(staging, 'report.html'), reportHtml(inp, sections));
  });
  return { html: run.file('report.html'), json: run.file('report.json') };
}
