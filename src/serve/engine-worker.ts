// The worker thread that holds the model and runs the batching engine, so decoding never blocks
// the server's event loop. It steps while there is work, giving its own event loop a turn between
// steps (setImmediate) so new requests and cancellations are taken in at every step boundary.
// Each request's tokens are decoded to whole characters and cut at stop strings here, next to
// the engine, so a stop string ends the request in the very step that completes it.
import { parentPort, workerData } from 'node:worker_threads';
import { loadModel } from '../interop/load.ts';
import { withChatTokens } from '../rlhf/chat-tokens.ts';
import { countParams } from '../models/gpt.ts';
import { quantizeModel, type ModelDtype } from '../models/quantize.ts';
import { backend } from '../backend/index.ts';
import { StreamDecoder } from '../tokenizer/index.ts';
import { StopMatcher } from '../generate/stop.ts';
import { BatchEngine } from './engine.ts';
import { DEFAULT_KV_CACHE, type KvDtype } from './slot-cache.ts';
import type { Done, FinishReason, FromWorker, GenerateParams, ModelInfo, TextEvent, ToWorker } from './protocol.ts';

export interface WorkerOptions {
  modelDir: string;
  maxBatch: number;
  /** Weights for decoding (models/quantize.ts). */
  dtype?: ModelDtype;
  /**
   * KV cache storage (slot-cache.ts); default f16, as llama.cpp's: at 16 streams the cache is a third
   * of the bytes a decoding step reads, and f16 moves logits by ~1e-4 (tested within 2e-4).
   */
  kvCache?: KvDtype;
}

const port = parentPort!;
const post = (m: FromWorker) => port.postMessage(m);

interface TextState {
  decoder: StreamDecoder;
  matcher: StopMatcher;
}

function start(opts: WorkerOptions): void {
  const loaded = loadModel(opts.modelDir);
  // A model without the chat format's tokens gets them (as gptkit sft gives them), so any model can
  // be served; the event loop's side gets this very tokenizer in the ready message.
  const { model, tokenizer, added } = withChatTokens(loaded.model, loaded.tokenizer);
  const quant = quantizeModel(model, opts.dtype ?? 'f32');
  const engine = new BatchEngine(model, { maxBatch: opts.maxBatch, kvDtype: opts.kvCache ?? DEFAULT_KV_CACHE });
  engine.warmUp();
  const c = model.config;
  const info: ModelInfo = {
    contextLength: engine.capacity, vocabSize: c.vocabSize, nLayer: c.nLayer, nHead: c.nHead, nEmbd: c.nEmbd,
    parameters: countParams(c).total, source: loaded.source, maxBatch: opts.maxBatch,
    kernels: `${backend().name} ${backend().simd()} ×${backend().threads()}`, addedTokens: added, dtype: quant.dtype, kvCache: opts.kvCache ?? DEFAULT_KV_CACHE,
  };
  post({ type: 'ready', info, tokenizer: tokenizer.toSpec() });

  const states = new Map<string, TextState>();
  // This step's event of each request it touched.
  const touched = new Map<string, TextEvent>();
  const eventOf = (id: string): TextEvent => {
    let e = touched.get(id);
    if (!e) touched.set(id, (e = { id, text: '', tokens: 0 }));
    return e;
  };

  function submit(id: string, p: GenerateParams): void {
    const s: TextState = { decoder: new StreamDecoder(tokenizer), matcher: new StopMatcher(p.stop) };
    engine.submit({
      id, prompt: p.prompt, maxTokens: p.maxTokens, sampling: p.sampling, seed: p.seed, eosIds: p.eosIds,
      onToken: (token) => {
        const e = eventOf(id);
        e.tokens++;
        const r = s.matcher.push(s.decoder.push(token));
        e.text += r.text;
        return r.stopped;
      },
    });
    states.set(id, s);
  }

  let scheduled = false;
  const kick = () => {
    if (scheduled || engine.idle) return;
    scheduled = true;
    setImmediate(loop);
  };

  function loop(): void {
    scheduled = false;
    const report = engine.step();
    for (const f of report.finished) {
      const s = states.get(f.id);
      if (!s) continue;
      states.delete(f.id);
      const e = eventOf(f.id);
      let reason: FinishReason = f.finishReason === 'eos' || f.finishReason === 'stop' ? 'stop' : f.finishReason;
      if (f.finishReason === 'eos' || f.finishReason === 'length') {
        // The stream ended without a stop string: an unfinished character, then what was held back.
        const r = s.matcher.push(s.decoder.flush());
        e.text += r.text;
        if (r.stopped) reason = 'stop';
        else e.text += s.matcher.flush();
      }
      const done: Done = { finishReason: reason, promptTokens: f.promptTokens, completionTokens: f.completionTokens };
      if (f.error) done.error = f.error;
      e.done = done;
    }
    const events = [...touched.values()];
    touched.clear();
    post({ type: 'step', events, batch: report.batch, admitted: report.admitted, running: engine.running, queued: engine.queued, ms: report.ms });
    kick();
  }

  port.on('message', (m: ToWorker) => {
    if (m.type === 'generate') {
      try {
        submit(m.id, m.params);
      } catch (e) {
        post({ type: 'rejected', id: m.id, message: (e as Error).message });
        return;
      }
    } else if (m.type === 'cancel') {
      engine.cancel(m.id);
    }
    kick();
  });
}

try {
  start(workerData as WorkerOptions);
} catch (e) {
  post({ type: 'fatal', message: (e as Error).message });
}
