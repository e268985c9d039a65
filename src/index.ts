// gptkit as a library: the entry point `import … from 'gptkit'`. The layers people use on their own
// have subpaths of their own: gptkit/tokenizer, gptkit/generate, gptkit/models, gptkit/interop,
// gptkit/data, gptkit/world.
export { loadModel, exportHfGpt2, saveCheckpoint, loadCheckpoint, type LoadedModel } from './interop/index.ts';
export { generateText, streamText, scoreText, generate, sampleToken, type TextGenerateOptions, type TextGeneration, type ScoredText } from './generate/index.ts';
export { GPT, gptConfig, presets, countParams, flopsPerToken, type GptConfig } from './models/index.ts';
export { loadTokenizer, trainBpe, Tokenizer, type TokenizerSpec } from './tokenizer/index.ts';
export { pretrain, type PretrainConfig, type PretrainEvent } from './pipeline/pretrain.ts';
export { generateWorld, writeWorld } from './world/index.ts';
export { GptkitError, ConfigError, FileFormatError } from './util/errors.ts';
export { main } from './cli/main.ts';
