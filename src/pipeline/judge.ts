// `gptkit judge`: the world's labeler as judge. Both models answer the same held-out prompts; the
// labeler (noiseless) scores each answer by its hidden rubric and the higher score wins the pair
// (a tie counts half). A chat model answers through its chat template; a pretrained baseline is
// prompted few-shot with demonstrations in plain text ("User: …\nAssistant: …"), as InstructGPT
// prompted GPT-3. Reports the win rate with its standard error and, per model, how often it follows
// the instruction (fully helpful), is honest, is harmless, and its mean answer length in words.
import { generate } from '../generate/generate.ts';
import { sampleToken } from '../generate/sampling.ts';
import { loadModel } from '../interop/load.ts';
import type { GPT } from '../models/gpt.ts';
import type { Tokenizer } from '../tokenizer/index.ts';
import { Rng } from '../util/rng.ts';
import { ConfigError } from '../util/errors.ts';
import { loadChatModel } from '../rlhf/chat-model.ts';
import type { ChatMessage } from '../rlhf/chat-template.ts';
import { readPromptFile, readSftFile } from '../rlhf/records.ts';
import { judge as labelerJudge } from '../world/index.ts';
import { resolveData, worldFile, loadWorld, DEFAULT_WORLD_DIR } from './rlhf-data.ts';

export interface JudgeConfig {
  model: string;
  baseline: string;
  /** 0 = the baseline answers through its chat template; N > 0 = plain-text few-shot with N demonstrations. */
  baselineShots: number;
  prompts: string[]; // 'world:test' etc., or files
  world: string;
  limit: number; // prompts judged (0 = all)
  maxTokens: number;
  temperature: number;
  batchSize: number;
  seed: number;
}

export const defaultJudgeConfig: Omit<JudgeConfig, 'model' | 'baseline'> = {
  baselineShots: 4, prompts: ['world:test'], world: DEFAULT_WORLD_DIR, limit: 0, maxTokens: 64, temperature: 0.7, batchSize: 16, seed: 1337,
};

export interface ModelRates { follows: number; honest: number; harmless: number; meanScore: number; words: number }
export interface JudgeReport {
  prompts: number;
  /** Fraction of prompts where the labeler prefers --model's answer (ties count half), with its standard error. */
  winRate: number;
  stderr: number;
  wins: number; ties: number; losses: number;
  model: ModelRates;
  baseline: ModelRates;
  examples: { prompt: string; model: string; baseline: string; modelScore: number; baselineScore: number }[];
}

export type JudgeEvent = { type: 'progress'; done: number; total: number; who: 'model' | 'baseline' };

/** Sample continuations of id prompts; stop at eos ids or at a stop string (the text is cut there). */
function answer(model: GPT, tok: Tokenizer, prompts: number[][], eos: number[], cfg: JudgeConfig, rng: Rng, stopAt: string[]): string[] {
  const maxPrompt = model.config.blockSize - cfg.maxTokens - 1;
  const cut = prompts.map((p) => (p.length > maxPrompt ? p.slice(p.length - maxPrompt) : p));
  const sofar: number[][] = prompts.map(() => []);
  const gens = generate(model, cut, (logits) => sampleToken(logits, rng, { temperature: cfg.temperature }).token, {
    maxTokens: cfg.maxTokens, eosIds: eos,
    onToken: stopAt.length ? (b, t) => { sofar[b].push(t); const text = tok.decode(sofar[b]); return stopAt.some((s) => text.includes(s)); } : undefined,
  });
  return gens.map((g) => {
    let text = tok.decode(g.tokens);
    for (const s of stopAt) { const k = text.indexOf(s); if (k >= 0) text = text.slice(0, k); }
    return text.trim();
  });
}

function plainText(messages: readonly ChatMessage[]): string {
  return messages.map((m) => `${m.role === 'user' ? 'User' : m.role === 'assistant' ? 'Assistant' : 'System'}: ${m.content}`).join('\n');
}

function rates(scores: ReturnType<typeof labelerJudge>[], answers: string[]): ModelRates {
  const n = Math.max(1, scores.length);
  return {
    follows: scores.filter((s) => s.helpful >= 1).length / n,
    honest: scores.filter((s) => s.honest >= 1).length / n,
    harmless: scores.filter((s) => s.harmless >= 1).length / n,
    meanScore: scores.reduce((a, s) => a + s.score, 0) / n,
    words: answers.reduce((a, t) => a + (t.match(/\S+/g)?.length ?? 0), 0) / n,
  };
}

export async function judgeModels(cfgIn: Partial<JudgeConfig> & { model: string; baseline: string }, onEvent: (e: JudgeEvent) => void = () => {}): Promise<JudgeReport> {
  for (const k of Object.keys(cfgIn)) if (!(k in defaultJudgeConfig) && k !== 'model' && k !== 'baseline') throw new ConfigError(`unknown judge option '${k}'`);
  const cfg: JudgeConfig = { ...defaultJudgeConfig, ...cfgIn };
  const world = loadWorld(cfg.world);
  let prompts = resolveData(cfg.prompts, [], cfg.world, 'prompts').train.flatMap((f) => readPromptFile(f)).map((r) => r.prompt);
  if (cfg.limit > 0) prompts = prompts.slice(0, cfg.limit);
  if (!prompts.length) throw new ConfigError('no prompts to judge');

  const rng = new Rng(cfg.seed);
  const run = (who: 'model' | 'baseline', make: (ps: ChatMessage[][]) => string[]): string[] => {
    const out: string[] = [];
    for (let i = 0; i < prompts.length; i += cfg.batchSize) {
      out.push(...make(prompts.slice(i, i + cfg.batchSize)));
      onEvent({ type: 'progress', done: out.length, total: prompts.length, who });
    }
    return out;
  };
  const chatAnswers = (dir: string, r: Rng) => {
    const cm = loadChatModel(dir);
    cm.model.eval();
    return (ps: ChatMessage[][]) => answer(cm.model, cm.tokenizer, ps.map((p) => cm.chat.encodePrompt(p)), [cm.chat.endOfTurnId], cfg, r, []);
  };
  const modelAnswers = run('model', chatAnswers(cfg.model, rng.fork('model')));

  let baselineAnswers: string[];
  if (cfg.baselineShots > 0) {
    const { model, tokenizer } = loadModel(cfg.baseline);
    const demos = readSftFile(worldFile(cfg.world, 'sft', 'train')).slice(0, cfg.baselineShots);
    const shots = demos.map((d) => plainText(d.messages)).join('\n\n');
    const eos = tokenizer.specialTokens.has('<|endoftext|>') ? [tokenizer.tokenId('<|endoftext|>')] : [];
    const r = rng.fork('baseline');
    baselineAnswers = run('baseline', (ps) => answer(model, tokenizer, ps.map((p) => tokenizer.encode(`${shots}\n\n${plainText(p)}\nAssistant:`)), eos, cfg, r, ['\nUser:', '\n\n', '\nSystem:']));
  } else baselineAnswers = run('baseline', chatAnswers(cfg.baseline, rng.fork('baseline')));

  const ms = prompts.map((p, i) => labelerJudge(world, p, modelAnswers[i]));
  const bs = prompts.map((p, i) => labelerJudge(world, p, baselineAnswers[i]));
  let wins = 0, ties = 0;
  ms.forEach((m, i) => { if (m.score > bs[i].score) wins++; else if (m.score === bs[i].score) ties++; });
  const n = prompts.length;
  const p = (wins + ties / 2) / n;
  return {
    prompts: n, winRate: p, stderr: Math.sqrt((p * (1 - p)) / n), wins, ties, losses: n - wins - ties,
    model: rates(ms, modelAnswers), baseline: rates(bs, baselineAnswers),
    examples: prompts.slice(0, 5).map((pr, i) => ({ prompt: plainText(pr), model: modelAnswers[i], baseline: baselineAnswers[i], modelScore: ms[i].score, baselineScore: bs[i].score })),
  };
}
