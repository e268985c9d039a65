// models/: GPT-1/2/3 in one config (presets by name), parameter and FLOP counts.
export { GPT, gptConfig, presets, countParams, flopsPerToken, type GptConfig, type GptForward } from './gpt.ts';
