// Throwaway inputs for the RLHF stage tests: a tiny "pretrained" GPT whose tokenizer lacks the
// ChatML tokens (as GPT-2's does), demonstrations, K-wise preferences and prompts, all in a temp dir.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { trainBpe } from '../tokenizer/index.ts';
import { tokenizerJsonText } from '../tokenizer/formats.ts';
import { GPT, gptConfig } from '../models/gpt.ts';
import { saveCheckpoint } from '../interop/checkpoint.ts';
import { Rng } from '../util/rng.ts';

export interface RlhfFixture { dir: string; model: string; sft: string; sftVal: string; prefs: string; prefsVal: string; prompts: string }

const NAMES = ['Ada', 'Bo', 'Cy', 'Di', 'Ed', 'Flo'];
const PLACES = ['Dorvale', 'Kest', 'Umber', 'Lowmarsh'];

const jsonl = (path: string, recs: unknown[]) => writeFileSync(path, recs.map((r) => JSON.stringify(r)).join('\n') + '\n');

export async function makeRlhfFixture(seed = 1): Promise<RlhfFixture> {
  const dir = mkdtempSync(join(tmpdir(), 'gptkit-rlhf-'));
  const rng = new Rng(seed);
  const q = () => { const n = rng.pick(NAMES); const p = rng.pick(PLACES); return { n, p, prompt: [{ role: 'user', content: `Where does ${n} live?` }], good: `${n} lives in ${p}.`, bad: `${n} is a fool.` }; };
  const sftRecs = (k: number) => Array.from({ length: k }, () => { const x = q(); return { messages: [...(rng.next() < 0.3 ? [{ role: 'system', content: 'Be brief.' }] : []), ...x.prompt, { role: 'assistant', content: x.good }] }; });
  const prefRecs = (k: number) => Array.from({ length: k }, () => {
    const x = q();
    const answers = [x.good, x.bad, `${x.n} lives somewhere, I think, maybe, or not.`, 'No.'];
    const order = rng.shuffle([0, 1, 2, 3]);
    return { prompt: x.prompt, responses: order.map((i) => answers[i]), ranking: [0, 2, 1, 3].map((a) => order.indexOf(a)) };
  });
  const f: RlhfFixture = {
    dir, model: join(dir, 'pretrained'), sft: join(dir, 'sft.jsonl'), sftVal: join(dir, 'sft_val.jsonl'),
    prefs: join(dir, 'prefs.jsonl'), prefsVal: join(dir, 'prefs_val.jsonl'), prompts: join(dir, 'prompts.jsonl'),
  };
  jsonl(f.sft, sftRecs(24));
  jsonl(f.sftVal, sftRecs(6));
  jsonl(f.prefs, prefRecs(12));
  jsonl(f.prefsVal, prefRecs(4));
  jsonl(f.prompts, Array.from({ length: 8 }, () => ({ messages: q().prompt })));
  const corpus = Array.from({ length: 200 }, () => { const x = q(); return `${x.good} ${x.bad} Where does ${x.n} live? user assistant system`; }).join('\n');
  const tok = await trainBpe([corpus], { vocabSize: 300, specialTokens: ['<|endoftext|>'] });
  const model = new GPT(gptConfig('nano', { vocabSize: tok.vocabSize, blockSize: 64, nLayer: 1, nHead: 2, nEmbd: 32 }), seed);
  saveCheckpoint(f.model, model, { tokenizerJson: { text: tokenizerJsonText(tok.toSpec()) } });
  return f;
}
