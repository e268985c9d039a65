// Tasks for evaluation and finetuning: the world's five (`world:NAME`, read from a world
// directory) and the user's own JSONL, one record per line. A record's shape says its kind:
//
//   classification   {"text", "label"}                        (world: sentiment)
//   entailment       {"premise", "hypothesis", "label"}       (world: entailment)
//   similarity       {"text_a", "text_b", "label"}            (world: similarity)
//   multiple choice  {"context", "choices": [...], "gold": i} (lm-evaluation-harness's HellaSwag/ARC
//                    shape; the world's {"question", "choices", "label"} reads the same)
//   generative       {"prompt", "answer"}                     (world: translation's {"source", "target"})
//
// Labels of the three classification kinds may be strings or numbers; they are compared as
// strings. Every bad record is a FileFormatError naming the file and line.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { FileFormatError, ConfigError } from '../util/errors.ts';
import { TASK_NAMES, SPLITS, type Split } from '../world/index.ts';

export type TaskKind = 'classification' | 'entailment' | 'similarity' | 'multiple_choice' | 'generative';
export const TASK_KINDS: readonly TaskKind[] = ['classification', 'entailment', 'similarity', 'multiple_choice', 'generative'];

export interface Where {
  file: string;
  line: number;
}

export type TaskRecord = Where & (
  | { kind: 'classification'; text: string; label: string }
  | { kind: 'entailment'; premise: string; hypothesis: string; label: string }
  | { kind: 'similarity'; textA: string; textB: string; label: string }
  | { kind: 'multiple_choice'; context: string; choices: string[]; gold: number }
  | { kind: 'generative'; prompt: string; answer: string }
);

/** A loaded task: its records by split, and for the classification kinds the label set in order. */
export interface Task {
  /** Short name used in results ('sentiment', 'my_task'). */
  name: string;
  /** What the user wrote ('world:sentiment', 'data/my_task.jsonl'). */
  spec: string;
  kind: TaskKind;
  /** 'world' for the world's tasks (their prompt templates and label words), 'user' otherwise. */
  source: 'world' | 'user';
  /** Records by split; a single-file task has only 'test'. */
  splits: Partial<Record<Split, TaskRecord[]>>;
  /** Class labels (classification, entailment, similarity), in a fixed order; null otherwise. */
  labels: string[] | null;
  /** One JSONL file, evaluated whole whatever the split asked for. */
  singleFile: boolean;
}

/** The world's label sets, in the order classes are numbered. */
export const WORLD_LABELS: Record<string, string[]> = {
  sentiment: ['positive', 'negative'],
  entailment: ['entailed', 'contradicted', 'unknown'],
  similarity: ['0', '1'],
};

const WORLD_KINDS: Record<string, TaskKind> = {
  sentiment: 'classification', entailment: 'entailment', similarity: 'similarity', multiple_choice: 'multiple_choice', translation: 'generative',
};

function bad(w: Where, message: string, hint?: string): FileFormatError {
  return new FileFormatError(`${w.file}:${w.line}`, message, hint);
}

function str(obj: Record<string, unknown>, key: string, w: Where): string {
  const v = obj[key];
  if (typeof v !== 'string') throw bad(w, `field "${key}" must be a string, found ${v === undefined ? 'nothing' : JSON.stringify(v)}`);
  return v;
}

function labelOf(obj: Record<string, unknown>, w: Where): string {
  const v = obj.label;
  if (typeof v === 'string' || (typeof v === 'number' && Number.isFinite(v)) || typeof v === 'boolean') return String(v);
  throw bad(w, `field "label" must be a string or a number, found ${v === undefined ? 'nothing' : JSON.stringify(v)}`);
}

/** The kind a record's fields say it is, or null. */
export function kindOf(obj: Record<string, unknown>): TaskKind | null {
  if ('choices' in obj) return 'multiple_choice';
  if ('prompt' in obj || 'answer' in obj || ('source' in obj && 'target' in obj)) return 'generative';
  if ('premise' in obj || 'hypothesis' in obj) return 'entailment';
  if ('text_a' in obj || 'text_b' in obj) return 'similarity';
  if ('text' in obj) return 'classification';
  return null;
}

/** One JSON object → a TaskRecord of the given kind (errors name file, line and field). */
export function parseRecord(obj: unknown, kind: TaskKind, w: Where): TaskRecord {
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) throw bad(w, `expected a JSON object, found ${JSON.stringify(obj)?.slice(0, 60)}`);
  const o = obj as Record<string, unknown>;
  switch (kind) {
    case 'classification': return { ...w, kind, text: str(o, 'text', w), label: labelOf(o, w) };
    case 'entailment': return { ...w, kind, premise: str(o, 'premise', w), hypothesis: str(o, 'hypothesis', w), label: labelOf(o, w) };
    case 'similarity': return { ...w, kind, textA: str(o, 'text_a', w), textB: str(o, 'text_b', w), label: labelOf(o, w) };
    case 'multiple_choice': {
      const context = 'context' in o ? str(o, 'context', w) : str(o, 'question', w);
      const choices = o.choices;
      if (!Array.isArray(choices) || choices.length < 2 || choices.some((c) => typeof c !== 'string')) {
        throw bad(w, `field "choices" must be an array of at least two strings, found ${JSON.stringify(choices)?.slice(0, 80)}`);
      }
      const key = 'label' in o && !('gold' in o) ? 'label' : 'gold';
      const gold = o[key];
      if (!Number.isInteger(gold) || (gold as number) < 0 || (gold as number) >= choices.length) {
        throw bad(w, `field "${key}" must be the index of the right choice, an integer in [0, ${choices.length - 1}], found ${JSON.stringify(gold) ?? 'nothing'}`);
      }
      return { ...w, kind, context, choices: choices as string[], gold: gold as number };
    }
    case 'generative': {
      if ('source' in o && !('prompt' in o)) return { ...w, kind, prompt: str(o, 'source', w), answer: str(o, 'target', w) };
      return { ...w, kind, prompt: str(o, 'prompt', w), answer: str(o, 'answer', w) };
    }
  }
}

/**
 * Every record of a JSONL file (blank lines skipped). The first record fixes the kind unless one
 * is given; a later record of another shape is an error naming its line.
 */
export function readTaskFile(file: string, kind?: TaskKind): { kind: TaskKind; records: TaskRecord[] } {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new FileFormatError(file, `cannot read: ${(e as Error).message}`);
  }
  const records: TaskRecord[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (!line) continue;
    const w = { file, line: i + 1 };
    let obj: unknown;
    try {
      obj = JSON.parse(line);
    } catch (e) {
      throw bad(w, `not valid JSON: ${(e as Error).message}`);
    }
    if (!kind) {
      kind = typeof obj === 'object' && obj !== null ? kindOf(obj as Record<string, unknown>) ?? undefined : undefined;
      if (!kind) {
        throw bad(w, 'cannot tell the task kind from the fields', 'expected {"context","choices","gold"}, {"prompt","answer"}, {"text","label"}, {"premise","hypothesis","label"} or {"text_a","text_b","label"}');
      }
    }
    records.push(parseRecord(obj, kind, w));
  }
  if (!records.length) throw new FileFormatError(file, 'no records (the file is empty)');
  return { kind: kind!, records };
}

/** Class labels of records in a fixed order: sorted numerically when all are numbers, else as strings. */
export function labelSet(records: TaskRecord[]): string[] {
  const s = new Set<string>();
  for (const r of records) if ('label' in r) s.add(r.label);
  const xs = [...s];
  return xs.every((x) => x !== '' && Number.isFinite(Number(x))) ? xs.sort((a, b) => Number(a) - Number(b)) : xs.sort();
}

export interface LoadTaskOptions {
  /** World directory for `world:NAME` tasks. */
  world: string;
  /** Splits to read (others are not opened). */
  splits?: readonly Split[];
}

/**
 * A task by spec: `world:NAME` (WORLD/tasks/NAME/{train,validation,test}.jsonl), a directory of the
 * same three files (any of them may be missing), or one JSONL file (read as the 'test' split).
 */
export function loadTask(spec: string, opts: LoadTaskOptions): Task {
  const want = opts.splits ?? SPLITS;
  if (spec.startsWith('world:')) {
    const name = spec.slice('world:'.length);
    if (!(TASK_NAMES as readonly string[]).includes(name)) throw new ConfigError(`unknown world task '${name}'`, `the world's tasks: ${TASK_NAMES.map((t) => `world:${t}`).join(', ')}`);
    const dir = join(opts.world, 'tasks', name);
    if (!existsSync(dir)) throw new FileFormatError(dir, 'no such task directory', `generate a world first: npx gptkit world generate --out ${opts.world} (or pass --world DIR)`);
    const kind = WORLD_KINDS[name];
    const splits: Task['splits'] = {};
    for (const s of want) {
      const f = join(dir, `${s}.jsonl`);
      if (!existsSync(f)) throw new FileFormatError(f, 'missing split file of a world task');
      splits[s] = readTaskFile(f, kind).records;
    }
    return { name, spec, kind, source: 'world', splits, labels: WORLD_LABELS[name] ?? null, singleFile: false };
  }
  if (!existsSync(spec)) throw new ConfigError(`unknown task '${spec}': neither world:NAME nor an existing file or directory`, `the world's tasks: ${TASK_NAMES.map((t) => `world:${t}`).join(', ')}; or a JSONL file`);
  const splits: Task['splits'] = {};
  let kind: TaskKind | undefined;
  let name: string;
  const singleFile = !statSync(spec).isDirectory();
  if (statSync(spec).isDirectory()) {
    name = basename(spec.replace(/\/+$/, ''));
    for (const s of want) {
      const f = join(spec, `${s}.jsonl`);
      if (!existsSync(f)) continue;
      const r = readTaskFile(f, kind);
      kind = r.kind;
      splits[s] = r.records;
    }
    if (!kind) throw new FileFormatError(spec, `no ${want.map((s) => `${s}.jsonl`).join(', ')} in this task directory`);
  } else {
    name = basename(spec).replace(/\.(jsonl|ndjson|json)$/, '');
    const r = readTaskFile(spec);
    kind = r.kind;
    splits.test = r.records;
  }
  const all = Object.values(splits).flat();
  const labels = kind === 'classification' || kind === 'entailment' || kind === 'similarity' ? labelSet(all) : null;
  if (labels && labels.length < 2) throw new FileFormatError(spec, `a classification task needs at least two labels, found ${JSON.stringify(labels)}`);
  return { name, spec, kind, source: 'user', splits, labels, singleFile };
}
