// Where the RLHF stages find their data: files the user names, or `world`, the embedded world's
// instruct/ files (a directory written by `gptkit world generate` or the ladder). Shared by the
// sft, rm, dpo and ppo stages so `--data world` means the same everywhere.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '../util/errors.ts';
import { generateWorld, type GeneratedWorld } from '../world/index.ts';

/** The world the ladder writes; `--world` changes it. */
export const DEFAULT_WORLD_DIR = 'runs/main/world';

export type WorldKind = 'sft' | 'preferences' | 'prompts';

export function worldFile(worldDir: string, kind: WorldKind, split: 'train' | 'validation' | 'test'): string {
  if (!existsSync(join(worldDir, 'manifest.json'))) {
    throw new ConfigError(`'world' data needs a generated world, and ${worldDir} has no manifest.json`, `npx gptkit world generate --out ${worldDir}, or pass --world DIR`);
  }
  return join(worldDir, 'instruct', `${kind}_${split}.jsonl`);
}

/** Train and validation files: `world` (optionally `world:SPLIT` for one split) expands to the world's. */
export function resolveData(data: readonly string[], valData: readonly string[], worldDir: string, kind: WorldKind): { train: string[]; val: string[] } {
  const train: string[] = [], val = [...valData];
  for (const d of data) {
    if (d === 'world') {
      train.push(worldFile(worldDir, kind, 'train'));
      if (!valData.length) val.push(worldFile(worldDir, kind, 'validation'));
    } else if (d.startsWith('world:')) {
      const split = d.slice(6);
      if (split !== 'train' && split !== 'validation' && split !== 'test') throw new ConfigError(`unknown world split '${split}' in '${d}'`, 'world:train, world:validation or world:test');
      train.push(worldFile(worldDir, kind, split));
    } else train.push(d);
  }
  if (!train.length) throw new ConfigError('no training data given', "pass --data FILE… or --data world");
  return { train, val };
}

/** The world a directory was generated from (its labeler judges and ranks answers). */
export function loadWorld(worldDir: string): GeneratedWorld {
  const path = join(worldDir, 'manifest.json');
  if (!existsSync(path)) throw new ConfigError(`${worldDir} has no manifest.json`, `npx gptkit world generate --out ${worldDir}`);
  const m = JSON.parse(readFileSync(path, 'utf8')) as { seed: number; size: string };
  return generateWorld({ seed: m.seed, size: m.size });
}
