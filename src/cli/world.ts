// `gptkit world generate --out DIR [--seed S] [--size small|medium|large]`: writes the embedded
// world (corpus, crawl + answers, tasks, instruction data, preferences, manifest) to DIR.
import type { Command } from './main.ts';
import { helpText, parseFlags, type FlagSpecs } from './flags.ts';
import { ConfigError } from '../util/errors.ts';
import { generateWorld, writeWorld, openWorldDir, WORLD_SIZES } from '../world/index.ts';

const USAGE = 'gptkit world generate --out DIR [--seed S] [--size small|medium|large]';
const SUMMARY = 'Generate the embedded world: reference corpus, raw crawl with planted answers, labelled tasks, instruction data and labeler preferences.';

const FLAGS: FlagSpecs = {
  out: { type: 'string', value: 'DIR', help: 'folder to write the world to: new, empty, or a world gptkit wrote (replaced with --force)' },
  seed: { type: 'number', value: 'S', default: 0, range: { min: 0, max: 2 ** 32 - 1, int: true }, help: 'world seed: same seed and size give byte-identical files' },
  force: { type: 'boolean', help: 'replace a world gptkit wrote in --out (other files there are kept)' },
  size: { type: 'string', value: 'SIZE', default: 'small', choices: WORLD_SIZES, help: `how much to generate: ${WORLD_SIZES.join(', ')} (small: ~1.5 MB of reference text, seconds; medium: ≥ 20 M characters; large: 200 M characters and a 1 GB crawl)` },
};

function mb(bytes: number): string {
  return `${(bytes / 1e6).toFixed(2)} MB`;
}

export const worldCommand: Command = {
  summary: 'generate the embedded world (corpus, crawl, tasks, instructions, preferences)',
  async run(argv: string[]): Promise<number> {
    const [sub, ...rest] = argv;
    if (!sub || sub === '--help' || sub === '-h') {
      console.log(helpText(USAGE, SUMMARY, FLAGS));
      return sub ? 0 : 1;
    }
    if (sub !== 'generate') throw new ConfigError(`world: unknown subcommand '${sub}', expected 'generate'`, 'see gptkit world --help');
    const { values, help } = parseFlags(rest, FLAGS);
    if (help) {
      console.log(helpText(USAGE, SUMMARY, FLAGS));
      return 0;
    }
    const out = values.out as string | undefined;
    if (!out) throw new ConfigError('world generate: --out DIR is required', USAGE);
    const seed = values.seed as number, size = values.size as string;
    const dir = openWorldDir(out, { label: `--out ${out}`, force: Boolean(values.force) });
    console.error(`world generate: ${size} world, seed ${seed}, into ${out}`);
    const t0 = Date.now();
    const manifest = await dir.use(() => writeWorld(generateWorld({ seed, size }), dir, (p) => {
      if (p.done) console.error(`  ${p.file.padEnd(40)} ${String(p.records).padStart(9)} records  ${mb(p.bytes).padStart(10)}`);
    }));
    const total = Object.values(manifest.files).reduce((a, f) => a + f.bytes, 0);
    console.error(`wrote ${Object.keys(manifest.files).length + 1} files, ${mb(total)}, to ${out} in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    return 0;
  },
};
