// Evaluating a finetuned model with its trained head: the record is transformed as in finetuning
// and the head's argmax is the answer (no prompt, no demonstrations).
import type { GPT } from '../models/gpt.ts';
import { GptTaskModel, packTaskBatch } from '../models/gpt1-task.ts';
import type { Tokenizer } from '../tokenizer/index.ts';
import type { TaskHeadInfo } from '../interop/task-checkpoint.ts';
import { noGrad, scope } from '../tensor/tensor.ts';
import { ConfigError } from '../util/errors.ts';
import { argmax } from './metrics.ts';
import { encodeExample, layoutOf, taskTokenIds, type EncodedExample } from './transform.ts';
import type { HeadEvaluator } from './harness.ts';
import type { Task, TaskRecord } from './tasks.ts';

/** Predicted head index of every encoded example, in batches of examples with as many sequences. */
export function predictEncoded(model: GptTaskModel, examples: EncodedExample[], batchSize = 16): number[] {
  const out: number[] = [];
  const wasTraining = model.training;
  model.eval();
  try {
    for (let i = 0; i < examples.length;) {
      let j = i + 1;
      while (j < examples.length && j - i < batchSize && examples[j].seqs.length === examples[i].seqs.length) j++;
      const chunk = examples.slice(i, j);
      const logits = noGrad(() => scope(() => {
        const l = model.taskForward(packTaskBatch(chunk.map((e) => e.seqs), chunk.map((e) => e.label)), false).logits;
        return { data: l.data.slice(), cols: l.shape[1] };
      }));
      for (let r = 0; r < chunk.length; r++) out.push(argmax(Array.from(logits.data.subarray(r * logits.cols, (r + 1) * logits.cols))));
      i = j;
    }
  } finally {
    model.train(wasTraining);
  }
  return out;
}

/** A HeadEvaluator for a finetuned model, or undefined when the model has no task head. */
export function headEvaluator(model: GPT, tokenizer: Tokenizer, info: TaskHeadInfo): HeadEvaluator | undefined {
  if (!(model instanceof GptTaskModel)) return undefined;
  const ids = taskTokenIds(tokenizer, info.specialTokens);
  return {
    task: info.task,
    predict(task: Task, records: TaskRecord[]): number[] {
      if (layoutOf(task.kind) !== info.layout) throw new ConfigError(`the model's head was trained for ${info.layout} (${info.spec}), the task ${task.spec} is ${task.kind}`);
      const encoded = records.map((r) => encodeExample(r, tokenizer, info.labels, ids, model.config.blockSize));
      const pred = predictEncoded(model, encoded);
      // Head classes are in the head's label order; the harness compares in the task's.
      return info.labels ? pred.map((p) => task.labels!.indexOf(info.labels![p])) : pred;
    },
  };
}
