// Measuring curation against planted truth: an answers JSONL file with one record per crawl
// document, {"id","junk":bool,"duplicate_of":id|null,"dup_kind":"exact"|"near"|null} (the world's
// answers/crawl.jsonl; any file of that shape works). The pipeline never reads it to decide
// anything; it only scores what the stages did.
//
// - classifier_auc: ROC AUC of the quality score, positives = not junk, over the documents that
//   reached the classifier.
// - dedup_recall: of the planted near-duplicates that reached fuzzy dedup while another member of
//   their planted family (original and its copies) also did, the fraction that ended in a cluster
//   holding another family member.
// - dedup_precision: of the documents fuzzy dedup removed, the fraction whose kept representative
//   is in the same planted family.
import { FileFormatError } from '../util/errors.ts';
import { UnionFind } from './minhash.ts';
import { rocAuc } from './classifier.ts';
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';

export interface Answer {
  junk: boolean;
  duplicateOf: string | null;
  dupKind: 'exact' | 'near' | null;
}

/** Read an answers file, strictly: a bad record is an error naming its line. */
export async function loadAnswers(path: string): Promise<Map<string, Answer>> {
  const out = new Map<string, Answer>();
  const rl = createInterface({ input: createReadStream(path), crlfDelay: Infinity });
  let line = 0;
  try {
    for await (const text of rl) {
      line++;
      if (!text.trim()) continue;
      const where = `${path}:${line}`;
      let r: Record<string, unknown>;
      try {
        r = JSON.parse(text);
      } catch (e) {
        throw new FileFormatError(where, `invalid JSON (${(e as Error).message})`);
      }
      if (r === null || typeof r !== 'object') throw new FileFormatError(where, 'expected a JSON object');
      if (typeof r.id !== 'string' && typeof r.id !== 'number') throw new FileFormatError(where, `id: expected a string, found ${JSON.stringify(r.id)}`);
      if (typeof r.junk !== 'boolean') throw new FileFormatError(where, `junk: expected true or false, found ${JSON.stringify(r.junk)}`);
      const dup = r.duplicate_of ?? null;
      if (dup !== null && typeof dup !== 'string' && typeof dup !== 'number') throw new FileFormatError(where, `duplicate_of: expected an id or null, found ${JSON.stringify(dup)}`);
      const kind = r.dup_kind ?? null;
      if (kind !== null && kind !== 'exact' && kind !== 'near') throw new FileFormatError(where, `dup_kind: expected 'exact', 'near' or null, found ${JSON.stringify(kind)}`);
      out.set(String(r.id), { junk: r.junk, duplicateOf: dup === null ? null : String(dup), dupKind: kind });
    }
  } catch (e) {
    if (e instanceof FileFormatError) throw e;
    throw new FileFormatError(path, `cannot read answers (${(e as Error).message})`);
  }
  return out;
}

/** Collects (score, is-good) for documents entering the classifier. */
export class ClassifierEval {
  private readonly answers: Map<string, Answer>;
  private scores: number[] = [];
  private labels: number[] = [];
  unmatched = 0;

  constructor(answers: Map<string, Answer>) {
    this.answers = answers;
  }

  add(id: string, score: number): void {
    const a = this.answers.get(id);
    if (!a) {
      this.unmatched++;
      return;
    }
    this.scores.push(score);
    this.labels.push(a.junk ? 0 : 1);
  }

  result(): { auc: number | null; documents: number; junk: number; unmatched: number } {
    const auc = rocAuc(this.scores, this.labels);
    return { auc: Number.isNaN(auc) ? null : auc, documents: this.scores.length, junk: this.labels.filter((l) => l === 0).length, unmatched: this.unmatched };
  }
}

/** Collects, for documents entering fuzzy dedup, their predicted cluster root; scores at the end. */
export class DedupEval {
  private readonly answers: Map<string, Answer>;
  private readonly family = new Map<string, string>();
  private docs: { id: string; root: number; index: number }[] = [];
  unmatched = 0;

  constructor(answers: Map<string, Answer>) {
    this.answers = answers;
    // Planted families: union over duplicate_of links, named by a representative id.
    const ids = [...answers.keys()];
    const at = new Map(ids.map((id, i) => [id, i]));
    const uf = new UnionFind(ids.length);
    ids.forEach((id, i) => {
      const d = answers.get(id)!.duplicateOf;
      const j = d === null ? undefined : at.get(d);
      if (j !== undefined) uf.union(i, j);
    });
    ids.forEach((id, i) => this.family.set(id, ids[uf.find(i)]));
  }

  /** Document `index` (fuzzy dedup order) with id `id` ended in the cluster rooted at `root`. */
  add(id: string, index: number, root: number): void {
    if (!this.answers.has(id)) {
      this.unmatched++;
      return;
    }
    this.docs.push({ id, root, index });
  }

  result(): { precision: number | null; recall: number | null; removed: number; planted_near: number; found_near: number; unmatched: number } {
    const familyOfIndex = new Map<number, string>();
    const perFamilyRoot = new Map<string, number>();
    const perFamily = new Map<string, number>();
    for (const d of this.docs) {
      const fam = this.family.get(d.id)!;
      familyOfIndex.set(d.index, fam);
      perFamilyRoot.set(`${fam}\u0000${d.root}`, (perFamilyRoot.get(`${fam}\u0000${d.root}`) ?? 0) + 1);
      perFamily.set(fam, (perFamily.get(fam) ?? 0) + 1);
    }
    let removed = 0;
    let correct = 0;
    let planted = 0;
    let found = 0;
    for (const d of this.docs) {
      const fam = this.family.get(d.id)!;
      if (d.root !== d.index) {
        removed++;
        if (familyOfIndex.get(d.root) === fam) correct++;
      }
      if (this.answers.get(d.id)!.dupKind === 'near' && perFamily.get(fam)! >= 2) {
        planted++;
        if (perFamilyRoot.get(`${fam}\u0000${d.root}`)! >= 2) found++;
      }
    }
    return {
      precision: removed ? correct / removed : null,
      recall: planted ? found / planted : null,
      removed, planted_near: planted, found_near: found, unmatched: this.unmatched,
    };
  }
}
