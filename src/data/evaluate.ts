// Measuring curation against planted truth: an answers JSONL file with one record per crawl
// document, {"id","junk":bool,"duplicate_of":id|null,"dup_kind":"exact"|"near"|null} and, optional,
// "junk_kind", "near_kind", "jaccard" (a near duplicate's with its original, a hard negative's with
// its closest sibling) and "template_family" (the world's answers/crawl.jsonl has them all; any file
// of that shape works). The pipeline never reads it to decide anything; it only scores what the
// stages did.
//
// - classifier_auc: ROC AUC of the quality score, positives = not junk, over the documents that
//   reached the classifier; also per junk kind (that kind against every good document).
// - dedup_recall: of the planted near-duplicates that reached fuzzy dedup while another member of
//   their planted family (original and its copies) also did, the fraction that ended in a cluster
//   holding another family member.
// - dedup_precision: of the documents fuzzy dedup removed, the fraction whose kept representative
//   is in the same planted family.
// - per Jaccard bin (0.1 wide, by the planted "jaccard"): recall of the near duplicates in the bin,
//   and precision of the removals of documents in the bin (near duplicates, rightly; hard negatives
//   — distinct documents of one template — wrongly); recall per near_kind; hard negatives removed.
import { FileFormatError } from '../util/errors.ts';
import { UnionFind } from './minhash.ts';
import { rocAuc } from './classifier.ts';
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';

export interface Answer {
  junk: boolean;
  duplicateOf: string | null;
  dupKind: 'exact' | 'near' | null;
  junkKind: string | null;
  nearKind: string | null;
  jaccard: number | null;
  templateFamily: string | null;
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
      const opt = (key: string, type: 'string' | 'number'): string | number | null => {
        const v = r[key] ?? null;
        if (v !== null && typeof v !== type) throw new FileFormatError(where, `${key}: expected a ${type} or null, found ${JSON.stringify(v)}`);
        return v as string | number | null;
      };
      const jac = opt('jaccard', 'number') as number | null;
      if (jac !== null && !(jac >= 0 && jac <= 1)) throw new FileFormatError(where, `jaccard: expected a number in [0, 1], found ${jac}`);
      out.set(String(r.id), {
        junk: r.junk, duplicateOf: dup === null ? null : String(dup), dupKind: kind,
        junkKind: opt('junk_kind', 'string') as string | null, nearKind: opt('near_kind', 'string') as string | null, jaccard: jac,
        templateFamily: opt('template_family', 'string') as string | null,
      });
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
  private kinds: (string | null)[] = [];
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
    this.kinds.push(a.junk ? a.junkKind : null);
  }

  result(): { auc: number | null; documents: number; junk: number; unmatched: number; by_junk_kind: Record<string, { documents: number; auc: number | null }> } {
    const auc = rocAuc(this.scores, this.labels);
    const byKind: Record<string, { documents: number; auc: number | null }> = {};
    for (const kind of new Set(this.kinds.filter((k): k is string => k !== null))) {
      const pick = this.labels.map((l, i) => l === 1 || this.kinds[i] === kind);
      const a = rocAuc(this.scores.filter((_, i) => pick[i]), this.labels.filter((_, i) => pick[i]));
      byKind[kind] = { documents: this.kinds.filter((k) => k === kind).length, auc: Number.isNaN(a) ? null : a };
    }
    return { auc: Number.isNaN(auc) ? null : auc, documents: this.scores.length, junk: this.labels.filter((l) => l === 0).length, unmatched: this.unmatched, by_junk_kind: byKind };
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

  result(): DedupResult {
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
    const bins = new Map<number, { planted: number; found: number; removed: number; correct: number }>();
    const bin = (j: number) => {
      const b = Math.min(9, Math.floor(j * 10));
      if (!bins.has(b)) bins.set(b, { planted: 0, found: 0, removed: 0, correct: 0 });
      return bins.get(b)!;
    };
    const kinds = new Map<string, { planted: number; found: number }>();
    const hard = { documents: 0, removed: 0 };
    for (const d of this.docs) {
      const a = this.answers.get(d.id)!;
      const fam = this.family.get(d.id)!;
      if (a.templateFamily !== null) hard.documents++;
      if (d.root !== d.index) {
        removed++;
        const ok = familyOfIndex.get(d.root) === fam;
        if (ok) correct++;
        if (a.templateFamily !== null) hard.removed++;
        if (a.jaccard !== null) { const b = bin(a.jaccard); b.removed++; if (ok) b.correct++; }
      }
      if (a.dupKind === 'near' && perFamily.get(fam)! >= 2) {
        planted++;
        const hit = perFamilyRoot.get(`${fam}\u0000${d.root}`)! >= 2;
        if (hit) found++;
        if (a.jaccard !== null) { const b = bin(a.jaccard); b.planted++; if (hit) b.found++; }
        if (a.nearKind !== null) {
          const k = kinds.get(a.nearKind) ?? { planted: 0, found: 0 };
          k.planted++;
          if (hit) k.found++;
          kinds.set(a.nearKind, k);
        }
      }
    }
    const ratio = (x: number, n: number) => (n ? x / n : null);
    return {
      precision: removed ? correct / removed : null,
      recall: planted ? found / planted : null,
      removed, planted_near: planted, found_near: found, unmatched: this.unmatched,
      by_jaccard: [...bins.entries()].sort((x, y) => x[0] - y[0]).map(([b, v]) => ({
        jaccard: `${(b / 10).toFixed(1)}–${((b + 1) / 10).toFixed(1)}`, ...v, recall: ratio(v.found, v.planted), precision: ratio(v.correct, v.removed),
      })),
      by_near_kind: Object.fromEntries([...kinds.entries()].sort().map(([k, v]) => [k, { ...v, recall: ratio(v.found, v.planted) }])),
      hard_negatives: hard,
    };
  }
}

export interface DedupResult {
  precision: number | null;
  recall: number | null;
  removed: number;
  planted_near: number;
  found_near: number;
  unmatched: number;
  /** Per 0.1-wide bin of planted Jaccard: near duplicates planted and found; removals and how many were right. */
  by_jaccard: { jaccard: string; planted: number; found: number; removed: number; correct: number; recall: number | null; precision: number | null }[];
  by_near_kind: Record<string, { planted: number; found: number; recall: number | null }>;
  /** Distinct documents from one template (answers' template_family) that reached dedup, and how many it removed. */
  hard_negatives: { documents: number; removed: number };
}
