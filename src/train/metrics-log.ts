// A run's metrics.jsonl (one JSON record per line): what the report and the dashboard draw from.
// A new run starts it empty; a resumed run cuts it back to the records up to its checkpoint (the
// steps after it are done again, so they must not appear twice). The file becomes the output's own.
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { writeFileAtomic } from '../util/fs.ts';
import type { OutputDir } from '../util/output.ts';

export function openMetricsLog(out: OutputDir, resumedAt: number | null, key = 'step'): (record: Record<string, unknown>) => void {
  const path = out.file('metrics.jsonl');
  if (resumedAt === null || !existsSync(path)) writeFileAtomic(path, '');
  else {
    const kept = readFileSync(path, 'utf8').split('\n').filter((l) => l && JSON.parse(l)[key] <= resumedAt);
    writeFileAtomic(path, kept.map((l) => l + '\n').join(''));
  }
  out.own('metrics.jsonl');
  return (record) => appendFileSync(path, JSON.stringify(record) + '\n');
}
