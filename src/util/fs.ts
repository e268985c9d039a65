// Files are written to a temporary name beside their destination and renamed into place, so a
// crash mid-write leaves the old file intact.
import { writeFileSync, renameSync, mkdirSync, rmSync, existsSync, openSync, fsyncSync, closeSync } from 'node:fs';
import { dirname, join, basename } from 'node:path';

let counter = 0;
function tmpName(path: string): string {
  return join(dirname(path), `.${basename(path)}.tmp-${process.pid}-${counter++}`);
}

/** Write a file atomically (temp + fsync + rename). */
export function writeFileAtomic(path: string, data: string | Uint8Array): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = tmpName(path);
  try {
    writeFileSync(tmp, data);
    const fd = openSync(tmp, 'r');
    try { fsyncSync(fd); } finally { closeSync(fd); }
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}

/** Where writeDirAtomic keeps the previous version of `dir` during the swap. */
export function previousDirName(dir: string): string {
  return join(dirname(dir), `.${basename(dir)}.previous`);
}

/**
 * Replace a whole directory: `fill(tmpDir)` writes the new contents beside it, then the old
 * directory is moved aside and the new one renamed into place. A crash while filling leaves the
 * old directory as it was; a crash between the two renames leaves it under previousDirName(dir),
 * where recoverDir() puts it back.
 */
export function writeDirAtomic(dir: string, fill: (tmpDir: string) => void): void {
  const parent = dirname(dir);
  mkdirSync(parent, { recursive: true });
  recoverDir(dir);
  const tmp = tmpName(dir);
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp);
  try {
    fill(tmp);
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
  const prev = previousDirName(dir);
  rmSync(prev, { recursive: true, force: true });
  const hadOld = existsSync(dir);
  if (hadOld) renameSync(dir, prev);
  renameSync(tmp, dir);
  if (hadOld) rmSync(prev, { recursive: true, force: true });
}

/** If a swap by writeDirAtomic was cut between its renames, put the previous directory back. */
export function recoverDir(dir: string): void {
  const prev = previousDirName(dir);
  if (!existsSync(dir) && existsSync(prev)) renameSync(prev, dir);
}
