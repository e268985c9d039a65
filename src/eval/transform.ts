// Task records → GPT-1's transformed token sequences (models/gpt1-task.ts lays them out): the text
// side of finetuning and of evaluating a trained head. A sequence longer than the model's context
// loses tokens from the left of its longest segment (the context, for multiple choice).
import type { Tokenizer } from '../tokenizer/index.ts';
import { transformInputs, type TaskLayout, type TaskTokenIds } from '../models/gpt1-task.ts';
import { ConfigError, FileFormatError } from '../util/errors.ts';
import type { TaskKind, TaskRecord } from './tasks.ts';

/** The GPT-1 layout of a task kind (generative tasks have none: they are not classification). */
export function layoutOf(kind: TaskKind): TaskLayout {
  if (kind === 'generative') throw new ConfigError('a generative task cannot be finetuned with a classification head', 'finetune on a classification, entailment, similarity or multiple-choice task');
  return kind;
}

export interface EncodedExample {
  /** The sequences the model reads (1, 2 for similarity, k for multiple choice). */
  seqs: number[][];
  /** The right class (index into the label set) or choice. */
  label: number;
  /** Whether tokens had to be cut to fit the context. */
  truncated: boolean;
}

/** The record's text segments: [text], [premise, hypothesis], [a, b] or [context, choice…]. */
function segmentsOf(r: TaskRecord): string[] {
  switch (r.kind) {
    case 'classification': return [r.text];
    case 'entailment': return [r.premise, r.hypothesis];
    case 'similarity': return [r.textA, r.textB];
    case 'multiple_choice': return [r.context, ...r.choices];
    case 'generative': throw new FileFormatError(`${r.file}:${r.line}`, 'a generative record cannot be finetuned with a classification head');
  }
}

/** Encode and transform one record; `labels` is the head's label order (null for multiple choice). */
export function encodeExample(r: TaskRecord, tokenizer: Tokenizer, labels: string[] | null, ids: TaskTokenIds, blockSize: number): EncodedExample {
  const where = `${r.file}:${r.line}`;
  let label: number;
  if (r.kind === 'multiple_choice') label = r.gold;
  else if ('label' in r) {
    label = labels ? labels.indexOf(r.label) : -1;
    if (label < 0) throw new FileFormatError(where, `label ${JSON.stringify(r.label)} is not one of the head's labels ${JSON.stringify(labels)}`);
  } else throw new FileFormatError(where, 'a generative record cannot be finetuned with a classification head');
  const segs = segmentsOf(r).map((s) => tokenizer.encode(s));
  const special = r.kind === 'classification' ? 2 : 3;
  // Multiple choice: the context is shared, so only it is cut; the longest answer must fit.
  const length = () => special + (r.kind === 'multiple_choice' ? segs[0].length + Math.max(...segs.slice(1).map((s) => s.length)) : segs.reduce((n, s) => n + s.length, 0));
  let excess = length() - blockSize;
  const truncated = excess > 0;
  while (excess > 0) {
    const i = r.kind === 'multiple_choice' ? 0 : segs.reduce((best, s, j) => (s.length > segs[best].length ? j : best), 0);
    if (segs[i].length === 0) throw new FileFormatError(where, `the example does not fit the model's context of ${blockSize} tokens even with its ${r.kind === 'multiple_choice' ? 'context' : 'segments'} cut`);
    const cut = Math.min(excess, segs[i].length);
    segs[i] = segs[i].slice(cut);
    excess -= cut;
  }
  const layout = layoutOf(r.kind);
  return { seqs: transformInputs(layout, segs, ids), label, truncated };
}

/** The start, delimiter and extract ids of a tokenizer that has them. */
export function taskTokenIds(tokenizer: Tokenizer, names: { start: string; delimiter: string; extract: string }): TaskTokenIds {
  return { start: tokenizer.tokenId(names.start), delimiter: tokenizer.tokenId(names.delimiter), extract: tokenizer.tokenId(names.extract) };
}
