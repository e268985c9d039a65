// Prompt templates and k-shot contexts, as lm-evaluation-harness builds them.
//
// Every task becomes either a multiple-choice document (a context and choices; the model's
// log-likelihood of " " + choice after the context picks one) or a generative one (a prompt the
// model continues greedily; its text up to the first newline is compared with the answer).
// Templates (the world's use its own label words; a user's task uses its labels verbatim):
//
//   sentiment / classification  "Review: {text}\nSentiment:" / "{text}\nAnswer:"        → " positive" | " negative" / " {label}"
//   entailment                  "{premise}\nQuestion: {hypothesis} True, False or Neither?\nAnswer:"  → " True" | " False" | " Neither"
//   similarity                  "Sentence 1: {a}\nSentence 2: {b}\nQuestion: Do both sentences mean the same thing?\nAnswer:" → " no" | " yes"
//   multiple_choice             "Question: {question}\nAnswer:" (world) / "{context}" (user)  → " {choice}"
//   translation / generative    "English: {source}\nTranslation:" (world) / "{prompt}" (user)  → " {answer}"
//
// A k-shot context is k demonstrations — each a filled template followed by " " and its right
// answer — then the item's template, all joined by a blank line ("\n\n"). Demonstrations are drawn
// with the seed from the train split, never the item being evaluated (when a task has no train
// split they come from the evaluated split, the item itself excluded).
import { Rng } from '../util/rng.ts';
import { FileFormatError } from '../util/errors.ts';
import type { Task, TaskRecord, Where } from './tasks.ts';

/** Between demonstrations (lm-evaluation-harness's fewshot_delimiter). */
export const FEWSHOT_SEPARATOR = '\n\n';
/** Between a context and its answer (lm-evaluation-harness's target_delimiter). */
export const TARGET_DELIMITER = ' ';
/** Generation stops at the first of these (answers are one line). */
export const GENERATION_STOP = ['\n'];

export type EvalDoc = Where & (
  | { type: 'choice'; context: string; choices: string[]; gold: number }
  | { type: 'generate'; prompt: string; answer: string }
);

/** What the world's label words are in prompts. */
const WORLD_WORDS: Record<string, Record<string, string>> = {
  sentiment: { positive: 'positive', negative: 'negative' },
  entailment: { entailed: 'True', contradicted: 'False', unknown: 'Neither' },
  similarity: { '0': 'no', '1': 'yes' },
};

function goldIndex(task: Task, r: TaskRecord & { label: string }): number {
  const i = task.labels!.indexOf(r.label);
  if (i < 0) throw new FileFormatError(`${r.file}:${r.line}`, `label ${JSON.stringify(r.label)} is not one of the task's labels ${JSON.stringify(task.labels)}`);
  return i;
}

/** The record as lm-evaluation-harness would present it to a language model. */
export function evalDoc(task: Task, r: TaskRecord): EvalDoc {
  const w = { file: r.file, line: r.line };
  const world = task.source === 'world';
  const words = (): string[] => task.labels!.map((l) => (world ? WORLD_WORDS[task.name]?.[l] ?? l : l));
  switch (r.kind) {
    case 'classification':
      return { ...w, type: 'choice', context: world ? `Review: ${r.text}\nSentiment:` : `${r.text}\nAnswer:`, choices: words(), gold: goldIndex(task, r) };
    case 'entailment':
      return {
        ...w, type: 'choice', gold: goldIndex(task, r), choices: words(),
        context: world ? `${r.premise}\nQuestion: ${r.hypothesis} True, False or Neither?\nAnswer:` : `${r.premise}\nQuestion: ${r.hypothesis}\nAnswer:`,
      };
    case 'similarity':
      return { ...w, type: 'choice', context: `Sentence 1: ${r.textA}\nSentence 2: ${r.textB}\nQuestion: Do both sentences mean the same thing?\nAnswer:`, choices: words(), gold: goldIndex(task, r) };
    case 'multiple_choice':
      return { ...w, type: 'choice', context: world ? `Question: ${r.context}\nAnswer:` : r.context, choices: r.choices, gold: r.gold };
    case 'generative':
      return { ...w, type: 'generate', prompt: world ? `English: ${r.prompt}\nTranslation:` : r.prompt, answer: r.answer };
  }
}

/** The demonstration text of a document: its template and its right answer. */
export function demoText(d: EvalDoc): string {
  return d.type === 'choice' ? d.context + TARGET_DELIMITER + d.choices[d.gold] : d.prompt + TARGET_DELIMITER + d.answer;
}

/** What identifies a document's content (a demonstration with the same content as the item is never used). */
function contentKey(d: EvalDoc): string {
  return demoText(d);
}

export interface FewShotPool {
  docs: EvalDoc[];
  /** True when the pool is the evaluated split itself (the item's own index is then excluded). */
  sameSplit: boolean;
}

/**
 * Indices into pool.docs of the k demonstrations for item `index` of the evaluated split: drawn
 * without replacement by a generator seeded from (seed, task, item), so an item's demonstrations
 * do not depend on --limit or on which other items are evaluated. Never the item itself, never a
 * document with the same content.
 */
export function drawDemos(pool: FewShotPool, item: EvalDoc, index: number, k: number, seed: number, taskName: string): number[] {
  if (k === 0) return [];
  const key = contentKey(item);
  const candidates: number[] = [];
  for (let i = 0; i < pool.docs.length; i++) {
    if (pool.sameSplit && i === index) continue;
    if (contentKey(pool.docs[i]) === key) continue;
    candidates.push(i);
  }
  if (candidates.length < k) {
    throw new FileFormatError(item.file, `${k}-shot evaluation needs ${k} demonstrations but only ${candidates.length} documents are available besides the item`, 'use fewer shots or add a train split');
  }
  const rng = new Rng(seed).fork(`${taskName}:${index}`);
  for (let i = 0; i < k; i++) { // partial Fisher–Yates
    const j = i + rng.int(candidates.length - i);
    [candidates[i], candidates[j]] = [candidates[j], candidates[i]];
  }
  return candidates.slice(0, k);
}

/** The demonstrations' texts, each followed by the separator: what goes before the item's context. */
export function fewShotPrefix(pool: FewShotPool, demos: number[]): string {
  return demos.map((i) => demoText(pool.docs[i]) + FEWSHOT_SEPARATOR).join('');
}
