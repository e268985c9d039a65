// Messages between the event loop (engine-client.ts) and the worker thread holding the model
// (engine-worker.ts). Token ids go in; text comes out, already decoded to whole characters and cut
// at stop strings, batched one message per decoding step.
import type { SamplingOptions } from '../generate/sampling.ts';
import type { TokenizerSpec } from '../tokenizer/index.ts';

export interface ModelInfo {
  /** The model's context in tokens. */
  contextLength: number;
  vocabSize: number;
  nLayer: number;
  nHead: number;
  nEmbd: number;
  parameters: number;
  source: 'gptkit' | 'hf-gpt2' | 'gguf';
  /** Weights for decoding: f32, bf16 or q8_0. */
  dtype: string;
  /** KV cache storage: f32 or f16. */
  kvCache: string;
  maxBatch: number;
  /** The kernels the worker runs on, e.g. 'native avx512 ×2' or 'ts ts ×1'. */
  kernels: string;
  /** Chat tokens the model lacked and was given (new ids, untrained rows): [] when it had them. */
  addedTokens: { token: string; id: number }[];
}

/** One generation: prompt ids, budget, sampling, stop strings. */
export interface GenerateParams {
  prompt: number[];
  maxTokens: number;
  sampling: SamplingOptions;
  seed: number;
  /** Strings that end the text (never emitted). */
  stop: string[];
  /** Token ids that end it (the chat template's end of turn, end of text). */
  eosIds: number[];
}

/** How a generation ended, in OpenAI's words plus ours ('cancelled', 'error'). */
export type FinishReason = 'stop' | 'length' | 'cancelled' | 'error';

export interface Done {
  finishReason: FinishReason;
  promptTokens: number;
  completionTokens: number;
  error?: string;
}

export type ToWorker =
  | { type: 'generate'; id: string; params: GenerateParams }
  | { type: 'cancel'; id: string };

export interface TextEvent {
  id: string;
  /** New text (may be '' while a character or a possible stop string is incomplete). */
  text: string;
  /** Tokens generated for this request in this step. */
  tokens: number;
  done?: Done;
}

export type FromWorker =
  | { type: 'ready'; info: ModelInfo; tokenizer: TokenizerSpec }
  | { type: 'step'; events: TextEvent[]; batch: number; admitted: number; running: number; queued: number; ms: number }
  | { type: 'rejected'; id: string; message: string }
  | { type: 'fatal'; message: string };
