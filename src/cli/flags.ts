// Flag parsing for every command: node's util.parseArgs plus help text and typed values. A flag
// `--n-layer` maps to the config key `nLayer`; every flag carries help text; unknown flags are errors.
import { parseArgs } from 'node:util';
import { ConfigError } from '../util/errors.ts';
import { describeRange, inRange, type Range } from '../util/ranges.ts';

export type FlagType = 'string' | 'number' | 'boolean' | 'strings';

export interface FlagSpec {
  type: FlagType;
  help: string;
  default?: string | number | boolean | string[];
  short?: string;
  /** Placeholder shown in help, e.g. FILE. */
  value?: string;
  /** A number's allowed range, checked before any work and shown in the help. */
  range?: Range;
  /** A string's allowed values. */
  choices?: readonly string[];
  /** The value is a path: in a config file it is relative to the file's folder. */
  path?: boolean;
}

export type FlagSpecs = Record<string, FlagSpec>;

/** kebab-case flag → camelCase key. */
export function camel(flag: string): string {
  return flag.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

export function helpText(usage: string, summary: string, specs: FlagSpecs): string {
  const lines = [`usage: ${usage}`, '', summary, '', 'options:'];
  const rows = Object.entries(specs).map(([name, s]) => {
    const arg = s.type === 'boolean' ? '' : ` ${s.value ?? (s.type === 'number' ? 'N' : 'VALUE')}`;
    const left = `  ${s.short ? `-${s.short}, ` : ''}--${name}${arg}${s.type === 'strings' ? ' …' : ''}`;
    const def = s.default !== undefined && s.default !== false ? ` (default: ${JSON.stringify(s.default)})` : '';
    const allowed = s.range ? `; ${describeRange(s.range)}` : s.choices ? `; one of ${s.choices.join(', ')}` : '';
    return [left, s.help + allowed + def] as const;
  });
  rows.push(['  -h, --help', 'show this help']);
  const width = Math.max(...rows.map(([l]) => l.length)) + 2;
  for (const [l, r] of rows) lines.push(l.padEnd(width) + r);
  return lines.join('\n');
}

export interface Parsed {
  values: Record<string, unknown>;
  /** Keys (camelCase) given on the command line, as opposed to defaults. */
  given: Set<string>;
  positionals: string[];
  help: boolean;
}

/** Parse argv against specs. Numbers are checked; `strings` flags take one or more values. */
export function parseFlags(argv: string[], specs: FlagSpecs, allowPositionals = false): Parsed {
  const options: Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean }> = { help: { type: 'boolean', short: 'h' } };
  for (const [name, s] of Object.entries(specs)) {
    options[name] = { type: s.type === 'boolean' ? 'boolean' : 'string', ...(s.short ? { short: s.short } : {}), ...(s.type === 'strings' ? { multiple: true } : {}) };
  }
  // `--data a.txt b.txt`: gather the values following a `strings` flag until the next flag.
  // `--lr -1`: a value that starts with '-' but is no flag of ours is the value (parseArgs alone
  // would call it ambiguous), so the range check can name it.
  const isFlag = (a: string) => a === '-h' || a === '--help' || (a.startsWith('--') && a.slice(2).split('=')[0] in specs) || Object.values(specs).some((s) => s.short && a === `-${s.short}`);
  const expanded: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const name = a.startsWith('--') ? a.slice(2) : '';
    const spec = name ? specs[name] : undefined;
    if (spec?.type === 'strings' && i + 1 < argv.length && !isFlag(argv[i + 1])) {
      while (i + 1 < argv.length && !isFlag(argv[i + 1])) expanded.push(`${a}=${argv[++i]}`);
    } else if (spec && (spec.type === 'string' || spec.type === 'number') && i + 1 < argv.length && !isFlag(argv[i + 1])) {
      expanded.push(`${a}=${argv[++i]}`);
    } else {
      expanded.push(a);
    }
  }
  let parsed;
  try {
    parsed = parseArgs({ args: expanded, options, allowPositionals, strict: true });
  } catch (e) {
    throw new ConfigError((e as Error).message.replace(/^TypeError \[[A-Z_]+\]: /, ''), 'see --help');
  }
  const values: Record<string, unknown> = {};
  const given = new Set<string>();
  for (const [name, s] of Object.entries(specs)) {
    const raw = (parsed.values as Record<string, unknown>)[name];
    const key = camel(name);
    if (raw === undefined) {
      if (s.default !== undefined) values[key] = s.default;
      continue;
    }
    given.add(key);
    if (s.type === 'number') {
      const n = Number(raw);
      if (raw === '' || !Number.isFinite(n)) throw new ConfigError(`--${name}: expected a number, got '${raw}'`);
      values[key] = n;
    } else {
      values[key] = raw;
    }
    checkFlagValue(name, s, values[key]);
  }
  return { values, given, positionals: parsed.positionals, help: Boolean(parsed.values.help) };
}

/** A value against its flag's range or choices: one line naming the flag, the value and what is allowed. */
export function checkFlagValue(name: string, s: FlagSpec, v: unknown): void {
  if (s.range && typeof v === 'number' && !inRange(v, s.range)) throw new ConfigError(`--${name} must be ${describeRange(s.range)}, got ${v}`);
  if (s.choices && typeof v === 'string' && !s.choices.includes(v)) throw new ConfigError(`--${name} must be one of ${s.choices.join(', ')}, got '${v}'`);
}

/** Values with a config file merged in: defaults < config file < flags given on the command line. */
export function withConfigFile(p: Parsed, file: Record<string, unknown>): Record<string, unknown> {
  const out = { ...p.values, ...file };
  for (const k of p.given) out[k] = p.values[k];
  return out;
}
