// Flag parsing for every command: node's util.parseArgs plus help text and typed values. A flag
// `--n-layer` maps to the config key `nLayer`; every flag carries help text; unknown flags are errors.
import { parseArgs } from 'node:util';
import { ConfigError } from '../util/errors.ts';

export type FlagType = 'string' | 'number' | 'boolean' | 'strings';

export interface FlagSpec {
  type: FlagType;
  help: string;
  default?: string | number | boolean | string[];
  short?: string;
  /** Placeholder shown in help, e.g. FILE. */
  value?: string;
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
    return [left, s.help + def] as const;
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
  const expanded: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const name = a.startsWith('--') ? a.slice(2) : '';
    if (name && specs[name]?.type === 'strings' && i + 1 < argv.length && !argv[i + 1].startsWith('-')) {
      while (i + 1 < argv.length && !argv[i + 1].startsWith('-')) expanded.push(a, argv[++i]);
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
  }
  return { values, given, positionals: parsed.positionals, help: Boolean(parsed.values.help) };
}

/** Values with a config file merged in: defaults < config file < flags given on the command line. */
export function withConfigFile(p: Parsed, file: Record<string, unknown>): Record<string, unknown> {
  const out = { ...p.values, ...file };
  for (const k of p.given) out[k] = p.values[k];
  return out;
}
