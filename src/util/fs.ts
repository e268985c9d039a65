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

/**
 * Replace a whole directory atomically: `fill(tmpDir)` writes the new contents, then the old
 * directory is moved aside and the new one renamed into place.
 */
export function writeDirAtomic(dir: string, fill: (tmpDir: string) => void): void {
  const parent = dirname(dir);
  mkdirSync(parent, { recursive: true });
  const tmp = tmpName(dir);
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp);
  try {
    fill(tmp);
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
  const old = existsSync(dir) ? tmpName(dir) + '.old' : null;
  if (old) renameSync(dir, old);
  renameSync(tmp, dir);
  if (old) rmSync(old, { recursive: true, force: true });
}
