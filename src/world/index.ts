// world/: the embedded default every rung of the ladder trains on. From a seed and a size, a
// deterministic fictional world (people, places, species, their relations) and everything made
// from it: reference corpus, raw crawl with planted junk and duplicates (+ answers), labelled
// tasks, instruction data, and the labeler that ranks answers by a hidden rubric.
// Imports nothing from the model stack.
import { buildWorld, checkSeed, checkSize, type World, type WorldSize } from './model.ts';
import { referenceDocuments, type RefDoc } from './corpus.ts';
import { crawlDocuments, type CrawlDoc } from './crawl.ts';
import { taskSplits, type Split, type TaskName } from './tasks.ts';
import { instructExamples, type Example } from './instruct.ts';
import { preferenceRecords, type PreferenceRecord } from './preferences.ts';

export interface WorldOptions { seed?: number; size?: WorldSize | string }

/** A world's facts plus its text generators (each a fresh, deterministic stream). */
export interface GeneratedWorld extends World {
  reference(chars?: number): Generator<RefDoc>;
  crawl(chars?: number): Generator<CrawlDoc>;
  tasks(task: TaskName): ReturnType<typeof taskSplits>;
  instructions(split: Split, count: number, stream?: string): Generator<Example>;
  preferences(split: Split, count: number, noise?: number): Generator<PreferenceRecord>;
}

export function generateWorld(opts: WorldOptions = {}): GeneratedWorld {
  const w = buildWorld(checkSeed(opts.seed ?? 0), checkSize(opts.size ?? 'small'));
  return Object.assign(w, {
    reference: (chars?: number) => referenceDocuments(w, chars),
    crawl: (chars?: number) => crawlDocuments(w, chars),
    tasks: (task: TaskName) => taskSplits(w, task),
    instructions: (split: Split, count: number, stream = 'api') => instructExamples(w, stream, split, count),
    preferences: (split: Split, count: number, noise?: number) => preferenceRecords(w, split, count, noise),
  });
}

export { writeWorld, openWorldDir, worldFiles, GENERATOR, type Manifest, type WorldProgress, type ProgressFn } from './write.ts';
export { judge, rankAnswers, interpret, DEFAULT_NOISE, type Verdict, type Spec, type RankOptions } from './labeler.ts';
export { SIZE_PRESETS, WORLD_SIZES, valuesOf, type World, type WorldSize, type Person, type Place, type Species, type Claim } from './model.ts';
export { shingles, jaccard, JUNK_KINDS, type CrawlDoc, type CrawlAnswer, type JunkKind } from './crawl.ts';
export { TASK_NAMES, SPLITS, type TaskName, type Split } from './tasks.ts';
export { CATEGORIES, type Category, type Message, type Example } from './instruct.ts';
export type { RefDoc } from './corpus.ts';
export type { PreferenceRecord } from './preferences.ts';
