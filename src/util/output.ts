// Output folders: the one place that decides where gptkit may write and how it replaces what it wrote.
//
// The promise: gptkit never deletes or overwrites a file it did not write. A folder is gptkit's own
// when it holds gptkit's marker (`.gptkit-output.json`, naming its kind and every entry gptkit wrote
// there), is empty, or does not exist yet. Anything else is refused before any work starts, with one
// line that says why and what to do; `--force` only lets gptkit replace its own outputs, never
// foreign files, which stay where they are through every update.
//
// Writes are transactions. The new entries are written into `DIR/.gptkit-pending/`, every file and
// folder is fsynced, then a commit record is renamed into place there (the commit point). Rolling
// forward moves each entry over the old one and deletes the entries the new version no longer has
// (re-sharding's orphaned shards), then the marker last. A crash before the commit point leaves the
// old version (the pending folder is dropped by the next open); a crash after it is finished by the
// next open. Temporary files of dead processes (`.name.tmp-PID…`) are removed on open, and a lock
// file keeps two live processes from writing one folder.
import {
  closeSync, existsSync, fsyncSync, lstatSync, mkdirSync, openSync, readdirSync, readFileSync, realpathSync,
  renameSync, rmSync, rmdirSync, statSync, writeFileSync, writeSync,
} from 'node:fs';
import { basename, dirname, join, relative, resolve, sep, isAbsolute } from 'node:path';
import { GptkitError } from './errors.ts';

export const MARKER = '.gptkit-output.json';
const PENDING = '.gptkit-pending';
const COMMIT = '.commit';
const LOCK = '.gptkit-lock';

/** Refused output paths: a foreign folder, a file in the way, an input inside the output, a live writer. */
export class OutputError extends GptkitError {
  constructor(message: string, hint?: string) {
    super('output', message, hint);
  }
}

export interface Marker {
  gptkit_output: 1;
  /** What the folder holds: 'checkpoint', 'world', 'tokenizer', 'shards', 'curated', 'hf-export', 'run', … */
  kind: string;
  /** Every top-level entry gptkit wrote here; nothing else is ever touched. */
  files: string[];
  /** Free-form facts the writer keeps with its output (e.g. the settings hash of a ladder stage). */
  meta?: Record<string, unknown>;
}

export interface OutputOptions {
  kind: string;
  /** How the folder is named in messages, e.g. '--out runs/x' (default: the path). */
  label?: string;
  /** Replace gptkit's own output of this kind when one is there (otherwise that is refused). */
  force?: boolean;
  /** An existing output of this kind is expected and will be updated (resume, checkpoints, reuse). */
  update?: boolean;
  /** Paths the command reads; the output may not be one of them or contain one (flag names them). */
  inputs?: { flag: string; path: string }[];
  /**
   * Entries a folder written before markers existed holds (legacy outputs of this kind): when the
   * folder has no marker, `legacy(entries)` returns the ones that are gptkit's, or null if the folder
   * is not such an output.
   */
  legacy?: (dir: string, entries: string[]) => string[] | null;
  /** What to say when the output already exists and neither force nor update was given. */
  existsHint?: string;
}

/** Lock files this process holds; released when it exits, whatever the path out. */
const heldLocks = new Set<string>();
let exitHook = false;
function releaseLock(p: string): void {
  heldLocks.delete(p);
  try {
    if (Number(readFileSync(p, 'utf8')) === process.pid) rmSync(p, { force: true });
  } catch { /* already gone */ }
}
function hookExit(): void {
  if (exitHook) return;
  exitHook = true;
  process.on('exit', () => { for (const p of [...heldLocks]) releaseLock(p); });
}

function isAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** `.name.tmp-PID` or `.name.tmp-PID-N`: util/fs.ts and data/jsonl.ts name their temporaries so. */
const TMP_RE = /^\..+\.tmp-(\d+)(?:-\d+)?$/;

function fsyncPath(path: string): void {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return; // a platform that cannot open folders for reading: nothing to sync
  }
  try {
    fsyncSync(fd);
  } catch {
    // EINVAL/EISDIR on file systems that do not sync directories
  } finally {
    closeSync(fd);
  }
}

function fsyncTree(path: string): void {
  const st = lstatSync(path);
  if (st.isDirectory()) {
    for (const name of readdirSync(path)) fsyncTree(join(path, name));
  }
  if (st.isFile() || st.isDirectory()) fsyncPath(path);
}

/** Write a small file durably: temp name, fsync, rename, fsync the folder. */
function writeDurable(path: string, text: string): void {
  const tmp = join(dirname(path), `.${basename(path)}.tmp-${process.pid}`);
  const fd = openSync(tmp, 'w');
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
  fsyncPath(dirname(path));
}

function readMarker(dir: string): Marker | null {
  const p = join(dir, MARKER);
  if (!existsSync(p)) return null;
  let m: Marker;
  try {
    m = JSON.parse(readFileSync(p, 'utf8'));
  } catch (e) {
    throw new OutputError(`${p}: gptkit's output marker is not valid JSON (${(e as Error).message})`, 'delete the file if the folder is not a gptkit output');
  }
  if (m?.gptkit_output !== 1 || typeof m.kind !== 'string' || !Array.isArray(m.files)) throw new OutputError(`${p}: not a gptkit output marker`);
  return m;
}

/** The first existing ancestor of `p` that is not a folder, if any. */
function fileInTheWay(p: string): string | null {
  let cur = resolve(p);
  const chain: string[] = [];
  while (true) {
    chain.push(cur);
    const up = dirname(cur);
    if (up === cur) break;
    cur = up;
  }
  for (const c of chain.reverse()) {
    if (!existsSync(c)) return null;
    if (!statSync(c).isDirectory()) return c;
  }
  return null;
}

function real(p: string): string {
  // Resolve symlinks of the longest existing prefix, so `a/../b` and links compare as the same place.
  let cur = resolve(p);
  const rest: string[] = [];
  while (!existsSync(cur)) {
    rest.unshift(basename(cur));
    const up = dirname(cur);
    if (up === cur) break;
    cur = up;
  }
  return join(realpathSync(cur), ...rest);
}

function within(child: string, parent: string): boolean {
  const r = relative(parent, child);
  return r === '' || (!r.startsWith('..') && !isAbsolute(r) && r !== '..' && !r.startsWith(`..${sep}`));
}

/** Remove temporaries left by processes that are gone (in `dir`, and `dir`'s own beside it). */
export function removeStaleTemporaries(dir: string): string[] {
  const removed: string[] = [];
  const sweep = (folder: string, only?: string) => {
    if (!existsSync(folder) || !statSync(folder).isDirectory()) return;
    for (const name of readdirSync(folder)) {
      const m = TMP_RE.exec(name);
      if (!m || (only && !name.startsWith(`.${only}.tmp-`))) continue;
      if (isAlive(Number(m[1]))) continue;
      rmSync(join(folder, name), { recursive: true, force: true });
      removed.push(join(folder, name));
    }
  };
  sweep(dir);
  sweep(dirname(resolve(dir)), basename(resolve(dir)));
  return removed;
}

export class OutputDir {
  readonly path: string;
  readonly kind: string;
  private readonly label: string;
  /** The marker as found when opened (null: new, empty, or a legacy output). */
  private marker: Marker;
  /** True when the folder holds an output of this kind already (marked or legacy). */
  readonly existed: boolean;
  private readonly createdDir: boolean;
  private locked = false;

  private constructor(path: string, kind: string, label: string, marker: Marker, existed: boolean, createdDir: boolean) {
    this.path = path;
    this.kind = kind;
    this.label = label;
    this.marker = marker;
    this.existed = existed;
    this.createdDir = createdDir;
  }

  /**
   * Check `dir` for use as an output of `opts.kind` and take it: everything a command must refuse is
   * refused here, before any work. Finishes or drops a transaction a crash cut short, removes dead
   * processes' temporaries, creates the folder with its marker, and locks it for this process.
   */
  static open(dir: string, opts: OutputOptions): OutputDir {
    const label = opts.label ?? dir;
    const path = resolve(dir);
    const inWay = fileInTheWay(path);
    if (inWay === path) throw new OutputError(`${label} is a file; gptkit writes a folder there`, 'give a folder path (new or empty)');
    if (inWay) throw new OutputError(`${label}: ${inWay} is a file, so no folder can be made under it`, 'give a folder path (new or empty)');
    const realOut = real(path);
    for (const inp of opts.inputs ?? []) {
      if (!inp.path || !existsSync(inp.path)) continue;
      if (within(real(inp.path), realOut)) {
        const what = real(inp.path) === realOut ? 'is' : 'contains';
        throw new OutputError(`${label} ${what} ${inp.flag} ${inp.path}: writing there would destroy the input`, 'choose another output folder');
      }
    }

    const existedBefore = existsSync(path);
    if (existedBefore) {
      OutputDir.recover(path);
      removeStaleTemporaries(path);
    } else {
      removeStaleTemporaries(path);
    }
    let marker = existedBefore ? readMarker(path) : null;
    let existed = false;
    if (marker) {
      if (marker.kind !== opts.kind) {
        throw new OutputError(`${label} holds a gptkit ${marker.kind}, not a ${opts.kind}`, 'choose another output folder');
      }
      existed = marker.files.length > 0;
    } else if (existedBefore) {
      const entries = readdirSync(path).filter((n) => n !== LOCK && n !== PENDING);
      const legacy = entries.length ? opts.legacy?.(path, entries) ?? null : [];
      if (legacy === null) {
        const shown = entries.slice(0, 4).join(', ') + (entries.length > 4 ? `, … (${entries.length} entries)` : '');
        throw new OutputError(`${label} holds files gptkit did not write (${shown}); gptkit writes only into a new or empty folder, or one it made`, 'choose a new or empty folder; nothing was changed');
      }
      existed = legacy.length > 0;
      marker = { gptkit_output: 1, kind: opts.kind, files: legacy };
    } else {
      marker = { gptkit_output: 1, kind: opts.kind, files: [] };
    }
    if (existed && !opts.force && !opts.update) {
      throw new OutputError(`${label} already holds a gptkit ${opts.kind}`, opts.existsHint ?? 'pass --force to replace it (only the files gptkit wrote there are replaced), or choose another folder');
    }

    mkdirSync(path, { recursive: true });
    const out = new OutputDir(path, opts.kind, label, marker, existed, !existedBefore);
    out.lock();
    if (!existsSync(join(path, MARKER))) out.saveMarker();
    return out;
  }

  /** Finish (commit record present) or drop (absent) a transaction a crash cut short. */
  static recover(dir: string): void {
    const pending = join(dir, PENDING);
    if (!existsSync(pending)) return;
    const commit = join(pending, COMMIT);
    if (existsSync(commit)) OutputDir.rollForward(dir);
    else rmSync(pending, { recursive: true, force: true });
  }

  private static rollForward(dir: string): void {
    const pending = join(dir, PENDING);
    const plan = JSON.parse(readFileSync(join(pending, COMMIT), 'utf8')) as { move: string[]; remove: string[] };
    for (const name of plan.move) {
      const from = join(pending, name);
      if (!existsSync(from)) continue; // moved before the crash
      rmSync(join(dir, name), { recursive: true, force: true });
      renameSync(from, join(dir, name));
    }
    for (const name of plan.remove) rmSync(join(dir, name), { recursive: true, force: true });
    const m = join(pending, MARKER);
    if (existsSync(m)) renameSync(m, join(dir, MARKER));
    fsyncPath(dir);
    rmSync(pending, { recursive: true, force: true });
  }

  private lock(): void {
    const p = join(this.path, LOCK);
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const fd = openSync(p, 'wx');
        writeSync(fd, String(process.pid));
        closeSync(fd);
        this.locked = true;
        heldLocks.add(p);
        hookExit();
        return;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
        const pid = Number(readFileSync(p, 'utf8'));
        if (pid === process.pid) return; // opened twice by this process (a stage and its parts)
        if (Number.isInteger(pid) && pid > 0 && isAlive(pid)) throw new OutputError(`${this.label} is being written by another gptkit process (pid ${pid})`, 'wait for it to finish, or stop it');
        rmSync(p, { force: true });
      }
    }
  }

  private unlock(): void {
    if (!this.locked) return;
    this.locked = false;
    releaseLock(join(this.path, LOCK));
  }

  /** The entries gptkit wrote here. */
  get files(): readonly string[] {
    return this.marker.files;
  }

  get meta(): Record<string, unknown> {
    return this.marker.meta ?? {};
  }

  /** Keep facts with the output (merged into the marker's meta, written now). */
  setMeta(meta: Record<string, unknown>): void {
    this.marker = { ...this.marker, meta: { ...this.marker.meta, ...meta } };
    this.saveMarker();
  }

  private saveMarker(): void {
    writeDurable(join(this.path, MARKER), JSON.stringify(this.marker, null, 1) + '\n');
  }

  /** Record entries this process writes directly (an appended log): they become gptkit's. */
  own(...names: string[]): void {
    const add = names.filter((n) => !this.marker.files.includes(n));
    if (!add.length) return;
    this.marker = { ...this.marker, files: [...this.marker.files, ...add] };
    this.saveMarker();
  }

  /** A path inside the output. */
  file(name: string): string {
    return join(this.path, name);
  }

  /**
   * Write a new version: `fill(staging)` writes entries into an empty staging folder; they then replace
   * the entries of the same names. With `replaceAll`, gptkit's entries the new version lacks are deleted
   * (never anyone else's). All or nothing across a crash.
   */
  async commit(fill: (staging: string) => void | Promise<void>, opts: { replaceAll?: boolean } = {}): Promise<string[]> {
    const pending = this.beginStaging();
    try {
      await fill(pending);
    } catch (e) {
      rmSync(pending, { recursive: true, force: true });
      throw e;
    }
    return this.finishStaging(pending, opts.replaceAll ?? false);
  }

  /** The same as commit() for a synchronous fill. */
  commitSync(fill: (staging: string) => void, opts: { replaceAll?: boolean } = {}): string[] {
    const pending = this.beginStaging();
    try {
      fill(pending);
    } catch (e) {
      rmSync(pending, { recursive: true, force: true });
      throw e;
    }
    return this.finishStaging(pending, opts.replaceAll ?? false);
  }

  /** Delete every entry gptkit wrote here (others stay), as one transaction. */
  clear(): void {
    this.commitSync(() => {}, { replaceAll: true });
  }

  private beginStaging(): string {
    OutputDir.recover(this.path);
    const pending = join(this.path, PENDING);
    rmSync(pending, { recursive: true, force: true });
    mkdirSync(pending);
    return pending;
  }

  private finishStaging(pending: string, replaceAll: boolean): string[] {
    const written = readdirSync(pending).filter((n) => n !== COMMIT && n !== MARKER && !TMP_RE.test(n));
    for (const n of written) {
      if (n === LOCK || n === PENDING) throw new OutputError(`${this.label}: '${n}' is a name gptkit keeps for itself`);
    }
    const remove = replaceAll ? this.marker.files.filter((f) => !written.includes(f)) : [];
    const files = replaceAll ? written : [...new Set([...this.marker.files, ...written])];
    const marker: Marker = { ...this.marker, files };
    writeFileSync(join(pending, MARKER), JSON.stringify(marker, null, 1) + '\n');
    fsyncTree(pending);
    writeDurable(join(pending, COMMIT), JSON.stringify({ move: written, remove }) + '\n');
    OutputDir.rollForward(this.path);
    this.marker = marker;
    return written;
  }

  /**
   * A command failed: if this run made the folder and nothing of value is in it (no entries, or only
   * its marker), remove it, so a failed run leaves no empty output folder. Releases the lock.
   */
  abandon(): void {
    if (this.createdDir && existsSync(this.path)) {
      OutputDir.recover(this.path);
      const rest = readdirSync(this.path).filter((n) => n !== MARKER && n !== LOCK && n !== PENDING);
      if (rest.length === 0 && this.marker.files.length === 0) {
        this.unlock();
        rmSync(join(this.path, MARKER), { force: true });
        rmSync(join(this.path, PENDING), { recursive: true, force: true });
        try { rmdirSync(this.path); } catch { /* someone else put something there */ }
        return;
      }
    }
    this.unlock();
  }

  /** Release the lock (the process's exit does it too). */
  close(): void {
    this.unlock();
  }

  /** Run `work` with this folder; on failure, abandon() it and rethrow. */
  async use<T>(work: (out: OutputDir) => Promise<T> | T): Promise<T> {
    try {
      const r = await work(this);
      this.close();
      return r;
    } catch (e) {
      this.abandon();
      throw e;
    }
  }
}

/** A library caller's folder: a path is opened for `kind`, replacing gptkit's own output there. */
export function asOutput(dir: string | OutputDir, kind: string, legacy?: OutputOptions['legacy']): OutputDir {
  if (typeof dir !== 'string') {
    if (dir.kind !== kind) throw new OutputError(`${dir.path}: opened for a ${dir.kind}, asked to write a ${kind}`);
    return dir;
  }
  return OutputDir.open(dir, { kind, force: true, update: true, legacy });
}

/** A legacy check: the folder is an old output of a kind when it holds `required` and only `allowed` names. */
export function legacyByNames(required: string[], allowed: (name: string) => boolean): OutputOptions['legacy'] {
  return (_dir, entries) => {
    if (!required.every((r) => entries.includes(r))) return null;
    return entries.filter(allowed);
  };
}
