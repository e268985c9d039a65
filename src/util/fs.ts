// Files are written to a temporary name beside their destination, fsynced, and renamed into place
// (the folder fsynced after), so a crash mid-write leaves the old file intact. Whole output folders
// are util/output.ts's transactions.
import { writeFileSync, renameSync, mkdirSync, rmSync, existsSync, openSync, fsyncSync, closeSync } from 'node:fs';
import { dirname, join, basename } from 'node:path';

let counter = 0;
function tmpName(path: string): string {
  return join(dirname(path), `.${basename(path)}.tmp-${process.pid}-${counter++}`);
}

function fsyncDir(dir: string): void {
  try {
    const fd = openSync(dir, 'r');
    try { fsyncSync(fd); } finally { closeSync(fd); }
  } catch {
    // a file system that cannot sync folders
  }
}

/** Write a file atomically (temp + fsync + rename + fsync of the folder). */
export function writeFileAtomic(path: string, data: string | Uint8Array): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = tmpName(path);
  try {
    writeFileSync(tmp, data);
    const fd = openSync(tmp, 'r');
    try { fsyncSync(fd); } finally { closeSync(fd); }
    renameSync(tmp, path);
    fsyncDir(dirname(path));
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}

/** Where gptkit before output markers kept the previous version of `dir` during a folder swap. */
export function previousDirName(dir: string): string {
  return join(dirname(dir), `.${basename(dir)}.previous`);
}

/**
 * A checkpoint written by an earlier gptkit, whose folder swap was cut between its two renames,
 * waits under previousDirName(dir): put it back.
 */
export function recoverDir(dir: string): void {
  const prev = previousDirName(dir);
  if (!existsSync(dir) && existsSync(prev)) renameSync(prev, dir);
}
