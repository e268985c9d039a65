// generate/: KV-cache decoding — token ids in, token ids out (generate), text in, text out
// (generateText, streamText), and scoring (scoreText: per-token log-probabilities, perplexity).
export { generate, generateSteps, type Picker, type FinishReason, type GenerateOptions, type Generation } from './generate.ts';
export { sampleToken, argmax, logSumExp, tokenLogprob, type SamplingOptions, type SampledToken } from './sampling.ts';
export { generateText, streamText, type TextGenerateOptions, type TextGeneration } from './text.ts';
export { scoreText, scoreIds, type ScoredText, type ScoredTokens } from './score.ts';
export { StopMatcher, truncateAtStop } from './stop.ts';
