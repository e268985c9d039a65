// Config files for commands: JSON whose keys are the command's flags (kebab-case, as on the
// command line) or the config keys they map to (camelCase). Flags given on the command line win.
// Paths in the file (flags marked `path`) are relative to the file's own folder, as in
// `gptkit data curate`'s config: one rule for every config file.
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { ConfigError, FileFormatError } from '../util/errors.ts';
import { camel, checkFlagValue, type FlagSpecs } from './flags.ts';

export function readConfigFile(path: string, specs: FlagSpecs, extraKeys: string[] = []): Record<string, unknown> {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new FileFormatError(path, `not a readable JSON file: ${(e as Error).message}`);
  }
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw new FileFormatError(path, 'expected a JSON object of options');
  const byKey = new Map<string, string>();
  for (const flag of Object.keys(specs)) {
    byKey.set(flag, flag);
    byKey.set(camel(flag), flag);
  }
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(raw)) {
    if (extraKeys.includes(k)) { out[k] = v; continue; }
    const flag = byKey.get(k);
    if (!flag) throw new ConfigError(`${path}: unknown key '${k}'`, `known keys: ${Object.keys(specs).join(', ')}`);
    const s = specs[flag];
    const ok = s.type === 'number' ? typeof v === 'number' : s.type === 'boolean' ? typeof v === 'boolean' : s.type === 'strings' ? Array.isArray(v) && v.every((x) => typeof x === 'string') : typeof v === 'string';
    if (!ok) throw new ConfigError(`${path}: key '${k}' must be ${s.type === 'strings' ? 'an array of strings' : `a ${s.type}`}, got ${JSON.stringify(v)}`);
    checkFlagValue(flag, s, v);
    const rel = (p: string) => (p === 'gpt2' || isAbsolute(p) ? p : resolve(dirname(path), p));
    out[camel(flag)] = s.path ? (Array.isArray(v) ? v.map((p) => rel(p as string)) : rel(v as string)) : v;
  }
  return out;
}
