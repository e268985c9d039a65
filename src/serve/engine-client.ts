// The event loop's side of the engine: starts the worker thread that holds the model, hands it
// generations and routes the text it sends back to each one's handlers. Used by `gptkit serve`
// and `gptkit chat` alike.
import { Worker } from 'node:worker_threads';
import { GptkitError } from '../util/errors.ts';
import { Tokenizer } from '../tokenizer/index.ts';
import type { Done, FromWorker, GenerateParams, ModelInfo, ToWorker } from './protocol.ts';
import type { WorkerOptions } from './engine-worker.ts';

/** The engine refused a request (bad settings) or died. */
export class EngineError extends GptkitError {
  constructor(kind: 'rejected' | 'fatal' | 'closed', message: string) {
    super(kind, message);
  }
}

export interface GenerationHandlers {
  /** New text; called once per decoding step that produced tokens for this generation. */
  onText?: (text: string, tokens: number) => void;
  onDone: (done: Done) => void;
  /** The engine refused or lost the request. */
  onError: (e: EngineError) => void;
}

export interface Generation {
  readonly id: string;
  /** Stop generating; onDone follows with 'cancelled' (within one decoding step). */
  cancel(): void;
}

export interface EngineStats {
  /** Requests decoding now (the batch). */
  running: number;
  /** Requests waiting for a slot in the worker. */
  queued: number;
  /** Rows of the last decoding step. */
  batch: number;
  steps: number;
  /** Generations handed to the engine and not yet done. */
  inFlight: number;
}

export class EngineClient {
  private readonly handlers = new Map<string, GenerationHandlers>();
  private nextId = 0;
  private dead: EngineError | null = null;
  private closing = false;
  readonly stats: EngineStats = { running: 0, queued: 0, batch: 0, steps: 0, inFlight: 0 };
  /** Called after every decoding step (metrics). */
  onStep: ((m: Extract<FromWorker, { type: 'step' }>) => void) | null = null;

  private constructor(private readonly worker: Worker, readonly info: ModelInfo, readonly tokenizer: Tokenizer) {
    worker.on('message', (m: FromWorker) => this.receive(m));
    worker.on('error', (e) => this.fail(new EngineError('fatal', `the engine thread failed: ${e.message}`)));
    worker.on('exit', (code) => { if (!this.closing) this.fail(new EngineError('fatal', `the engine thread exited (code ${code})`)); });
  }

  /**
   * Load the model in a new worker thread; resolves when it is ready to decode. `tokenizer` is the
   * worker's own (with any chat tokens it added), so both threads agree on every id.
   */
  static start(opts: WorkerOptions): Promise<EngineClient> {
    const worker = new Worker(new URL('./engine-worker.mjs', import.meta.url), { workerData: opts });
    return new Promise((resolve, reject) => {
      const early = (e: Error) => reject(new EngineError('fatal', `the engine thread failed to start: ${e.message}`));
      worker.once('error', early);
      worker.once('message', (m: FromWorker) => {
        worker.off('error', early);
        if (m.type === 'ready') resolve(new EngineClient(worker, m.info, new Tokenizer(m.tokenizer)));
        else {
          void worker.terminate();
          reject(new EngineError('fatal', m.type === 'fatal' ? m.message : `unexpected first message '${m.type}'`));
        }
      });
    });
  }

  /** Start a generation; text and the end arrive through the handlers. */
  generate(params: GenerateParams, handlers: GenerationHandlers): Generation {
    const id = String(this.nextId++);
    if (this.dead) {
      const err = this.dead;
      queueMicrotask(() => handlers.onError(err));
      return { id, cancel: () => {} };
    }
    this.handlers.set(id, handlers);
    this.stats.inFlight++;
    this.send({ type: 'generate', id, params });
    return { id, cancel: () => { if (this.handlers.has(id)) this.send({ type: 'cancel', id }); } };
  }

  /** The whole text of a generation (no streaming). */
  complete(params: GenerateParams): Promise<{ text: string } & Done> {
    return new Promise((resolve, reject) => {
      let text = '';
      this.generate(params, { onText: (t) => { text += t; }, onDone: (d) => resolve({ text, ...d }), onError: reject });
    });
  }

  /** Stop the worker; generations still running end with an error. */
  async close(): Promise<void> {
    this.closing = true;
    this.fail(new EngineError('closed', 'the engine was shut down'));
    await this.worker.terminate();
  }

  private send(m: ToWorker): void {
    this.worker.postMessage(m);
  }

  private settle(id: string): GenerationHandlers | undefined {
    const h = this.handlers.get(id);
    if (h) {
      this.handlers.delete(id);
      this.stats.inFlight--;
    }
    return h;
  }

  private receive(m: FromWorker): void {
    if (m.type === 'step') {
      Object.assign(this.stats, { running: m.running, queued: m.queued, batch: m.batch, steps: this.stats.steps + 1 });
      for (const e of m.events) {
        const h = this.handlers.get(e.id);
        if (!h) continue;
        if (e.text || e.tokens) h.onText?.(e.text, e.tokens);
        if (e.done) {
          this.settle(e.id);
          h.onDone(e.done);
        }
      }
      this.onStep?.(m);
    } else if (m.type === 'rejected') {
      this.settle(m.id)?.onError(new EngineError('rejected', m.message));
    } else if (m.type === 'fatal') {
      this.fail(new EngineError('fatal', m.message));
    }
  }

  private fail(e: EngineError): void {
    this.dead ??= e;
    for (const id of [...this.handlers.keys()]) this.settle(id)?.onError(e);
  }
}
