// `gptkit info`: parameter count and FLOPs per token of any preset or config, without building it.
import type { Command } from './main.ts';
import { parseFlags, helpText, type FlagSpecs } from './flags.ts';
import { presets, gptConfig, countParams, flopsPerToken, type GptConfig } from '../models/gpt.ts';
import { fmtCount } from './progress.ts';

const flags: FlagSpecs = {
  preset: { type: 'string', value: 'NAME', help: `one of: ${Object.keys(presets).join(', ')} (default: all)` },
  'n-layer': { type: 'number', help: 'override: transformer blocks' },
  'n-head': { type: 'number', help: 'override: attention heads' },
  'n-embd': { type: 'number', help: 'override: model width' },
  'block-size': { type: 'number', help: 'override: context length' },
  'vocab-size': { type: 'number', help: 'override: vocabulary size' },
  json: { type: 'boolean', help: 'print JSON' },
};

export const infoCommand: Command = {
  summary: 'parameters and FLOPs per token of a model preset or config',
  async run(argv) {
    const p = parseFlags(argv, flags);
    if (p.help) {
      console.log(helpText('gptkit info [--preset NAME] [overrides] [--json]', 'Size and training cost of GPT configs (6·N + 6·n_layer·T·C FLOPs per token).', flags));
      return 0;
    }
    const v = p.values as { preset?: string; nLayer?: number; nHead?: number; nEmbd?: number; blockSize?: number; vocabSize?: number; json?: boolean };
    const names = v.preset ? [v.preset] : Object.keys(presets);
    const overrides: Partial<GptConfig> = {};
    for (const k of ['nLayer', 'nHead', 'nEmbd', 'blockSize', 'vocabSize'] as const) if (v[k] !== undefined) overrides[k] = v[k];
    const rows = names.map((n) => {
      const c = gptConfig(n, overrides);
      const params = countParams(c);
      return { preset: n, n_layer: c.nLayer, n_head: c.nHead, n_embd: c.nEmbd, block_size: c.blockSize, vocab_size: c.vocabSize, norm: c.norm, attention: c.attention, params: params.total, non_embedding_params: params.nonEmbedding, train_flops_per_token: flopsPerToken(c) };
    });
    if (v.json) {
      console.log(JSON.stringify(rows.length === 1 ? rows[0] : rows));
      return 0;
    }
    console.log(`${'preset'.padEnd(12)}${'layers'.padStart(7)}${'heads'.padStart(7)}${'width'.padStart(7)}${'context'.padStart(9)}${'params'.padStart(10)}${'train FLOPs/token'.padStart(19)}`);
    for (const r of rows) {
      console.log(`${r.preset.padEnd(12)}${String(r.n_layer).padStart(7)}${String(r.n_head).padStart(7)}${String(r.n_embd).padStart(7)}${String(r.block_size).padStart(9)}${fmtCount(r.params).padStart(10)}${r.train_flops_per_token.toExponential(2).padStart(19)}`);
    }
    return 0;
  },
};
