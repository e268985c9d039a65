// `gptkit experiment instructgpt --quick` end to end (the CI path): world, tokenizer, two pretrained
// sizes, SFT, RM, PPO-ptx, plain PPO, DPO, the labeler's judgements and the task evaluations all run at
// toy size; claims.json holds the six claims with verdicts and figures, report.html a chart per claim.
// The toy figures mean little; the verdicts are whatever they are, but each must follow its rule.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../cli/main.ts';

interface WinRate { win_rate: number; stderr: number; prompts: number; wins: number; ties: number; losses: number }
const isWinRate = (w: WinRate, name: string) => {
  assert.ok(w.win_rate >= 0 && w.win_rate <= 1 && w.stderr >= 0 && w.prompts > 0, name);
  assert.equal(w.wins + w.ties + w.losses, w.prompts, name);
};
const preferred = (w: WinRate) => w.win_rate - 2 * w.stderr > 0.5;
const verdict = (ok: boolean) => (ok ? 'reproduced' : 'not reproduced');

test('experiment instructgpt --quick: six claims with verdicts and figures, a chart per claim, in CI time', async () => {
  const out = join(mkdtempSync(join(tmpdir(), 'gptkit-exp-ig-')), 'run');
  const lines: string[] = [];
  const log = console.log;
  console.log = (...a: unknown[]) => lines.push(a.join(' '));
  const t0 = performance.now();
  try {
    assert.equal(await main(['experiment', 'instructgpt', '--quick', '--out', out]), 0);
  } finally {
    console.log = log;
  }
  const seconds = (performance.now() - t0) / 1000;
  assert.ok(seconds < 180, `--quick took ${seconds.toFixed(0)} s`);
  for (const s of ['world', 'tokenizer', 'pretrain', 'sft', 'rm', 'ppo', 'dpo', 'judge', 'eval']) assert.match(lines.join('\n'), new RegExp(`\\] ${s}: `), s);

  const r = JSON.parse(readFileSync(join(out, 'claims.json'), 'utf8'));
  assert.equal(r.experiment, 'instructgpt');
  assert.equal(r.quick, true);
  assert.deepEqual(r.claims.map((c: { id: number }) => c.id), [1, 2, 3, 4, 5, 6]);
  for (const c of r.claims) assert.ok(['reproduced', 'not reproduced'].includes(c.verdict), `claim ${c.id}`);
  const [c1, c2, c3, c4, c5, c6] = r.claims.map((c: { figures: unknown }) => c.figures);

  assert.ok(c1.rm_accuracy >= 0 && c1.rm_accuracy <= 1 && c1.labeler_agreement > 0.5 && c1.pairs > 0, 'RM accuracy beside a real labeler agreement');
  assert.equal(r.claims[0].verdict, verdict(Math.abs(c1.rm_accuracy - c1.labeler_agreement) <= 0.05));
  for (const k of ['ppo_vs_sft', 'sft_vs_pretrained', 'ppo_vs_pretrained']) isWinRate(c2[k], k);
  assert.equal(r.claims[1].verdict, verdict(preferred(c2.ppo_vs_sft) && preferred(c2.sft_vs_pretrained)));
  isWinRate(c3.ppo_ptx_S_vs_pretrained_L, 'S vs L');
  assert.ok(c3.size_ratio >= 4 && c3.params.L >= 4 * c3.params.S, 'L is at least 4× S');
  assert.equal(r.claims[2].verdict, verdict(preferred(c3.ppo_ptx_S_vs_pretrained_L)));
  for (const m of ['pretrained', 'sft', 'ppo-ptx']) for (const k of ['honest', 'harmless', 'follows']) assert.ok(c4.rates[m][k] >= 0 && c4.rates[m][k] <= 1, `${m} ${k}`);
  for (const m of ['pretrained', 'sft', 'ppo', 'ppo-ptx']) {
    for (const t of ['sentiment', 'entailment', 'similarity', 'multiple_choice']) assert.ok(c5.accuracy[m].acc[t] >= 0 && c5.accuracy[m].acc[t] <= 1, `${m} ${t}`);
  }
  assert.ok(Number.isFinite(c5.tax_plain_ppo) && c5.tax_stderr > 0);
  isWinRate(c6.dpo_vs_ppo_ptx, 'DPO vs PPO-ptx');
  assert.equal(r.claims[5].verdict, verdict(c6.dpo_vs_ppo_ptx.win_rate - 2 * c6.dpo_vs_ppo_ptx.stderr > 0.4));
  assert.equal(r.claims[3].verdict, verdict(['honest', 'harmless'].every((k) => c4.rates.sft[k] > c4.rates.pretrained[k] && c4.rates['ppo-ptx'][k] > c4.rates.pretrained[k])));
  assert.equal(r.claims[4].verdict, verdict(c5.tax_plain_ppo > 2 * c5.tax_stderr && c5.recovered_by_ptx !== null && c5.recovered_by_ptx > 0.5));
  assert.ok(c6.dpo_heldout && Number.isFinite(c6.dpo_heldout.loss), 'DPO ran and was validated');
  assert.equal(r.ppo['ppo-ptx'].length, r.settings.ppo.iterations);
  assert.equal(r.ppo.ppo.length, r.settings.ppo.iterations);

  const html = readFileSync(join(out, 'report.html'), 'utf8');
  const figures = html.match(/<figure class="claim-chart" id="claim-\d"><svg[^]*?<\/svg><\/figure>/g) ?? [];
  assert.equal(figures.length, 6, 'one chart per claim');
  assert.match(html, /PPO: mean reward per iteration/);
  assert.match(lines.join('\n'), /^claim 6 \(DPO\): (reproduced|not reproduced)/m);
});
