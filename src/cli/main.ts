// `gptkit <command> …`: a thin dispatcher. Each command lives in its own module, loaded on demand,
// and turns flags into a typed config for the layer that does the work. User mistakes
// (GptkitError) print as one clear message, never a stack trace.
import { readFileSync } from 'node:fs';
import { GptkitError } from '../util/errors.ts';

export interface Command {
  /** One line for `gptkit --help`. */
  summary: string;
  run(argv: string[]): Promise<number>;
}

const commands: Record<string, () => Promise<Command>> = {
  data: () => import('./data.ts').then((m) => m.dataCommand),
  info: () => import('./info.ts').then((m) => m.infoCommand),
  ladder: () => import('./ladder.ts').then((m) => m.ladderCommand),
  report: () => import('./ladder.ts').then((m) => m.reportCommand),
  pretrain: () => import('./pretrain.ts').then((m) => m.pretrainCommand),
  tokenizer: () => import('./tokenizer.ts').then((m) => m.tokenizerCommand),
  tokenize: () => import('./tokenizer.ts').then((m) => m.tokenizeCommand),
  sample: () => import('./sample.ts').then((m) => m.sampleCommand),
  score: () => import('./sample.ts').then((m) => m.scoreCommand),
  export: () => import('./sample.ts').then((m) => m.exportCommand),
  eval: () => import('./eval.ts').then((m) => m.evalCommand),
  finetune: () => import('./finetune.ts').then((m) => m.finetuneCommand),
  experiment: () => import('./experiment.ts').then((m) => m.experimentCommand),
  world: () => import('./world.ts').then((m) => m.worldCommand),
  chat: () => import('./chat.ts').then((m) => m.chatCommand),
  serve: () => import('./serve.ts').then((m) => m.serveCommand),
  ui: () => import('./serve.ts').then((m) => m.uiCommand),
  sft: () => import('./sft.ts').then((m) => m.sftCommand),
  rm: () => import('./rm.ts').then((m) => m.rmCommand),
  dpo: () => import('./dpo.ts').then((m) => m.dpoCommand),
  ppo: () => import('./ppo.ts').then((m) => m.ppoCommand),
  judge: () => import('./judge.ts').then((m) => m.judgeCommand),
  seq2seq: () => import('./seq2seq.ts').then((m) => m.seq2seqCommand),
  translate: () => import('./seq2seq.ts').then((m) => m.translateCommand),
};

async function usage(): Promise<string> {
  const names = Object.keys(commands).sort();
  const summaries = await Promise.all(names.map((n) => commands[n]().then((c) => c.summary)));
  const width = Math.max(...names.map((n) => n.length)) + 4;
  return [
    'usage: gptkit <command> [options]   (gptkit <command> --help for its options)',
    '',
    'commands:',
    ...names.map((n, i) => `  ${n.padEnd(width)}${summaries[i]}`),
  ].join('\n');
}

export function version(): string {
  return JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')).version;
}

function exitOnEpipe(e: NodeJS.ErrnoException): void {
  if (e.code === 'EPIPE') process.exit(0);
  throw e;
}

/** `gptkit … | head -1`: a reader that went away is no error; stop quietly. */
function quietOnEpipe(): void {
  for (const s of [process.stdout, process.stderr]) {
    if (!s.listeners('error').includes(exitOnEpipe)) s.on('error', exitOnEpipe);
  }
}

export async function main(argv: string[]): Promise<number> {
  quietOnEpipe();
  // Data-parallel ranks other than 0 (under mpirun) print nothing on stdout: rank 0 reports the run.
  const mpiRank = process.env.OMPI_COMM_WORLD_RANK ?? process.env.PMI_RANK ?? process.env.PMIX_RANK;
  if (mpiRank !== undefined && mpiRank !== '0') console.log = () => {};
  let [name, ...rest] = argv;
  if (name === '--version' || name === '-v' || name === 'version') {
    console.log(`gptkit ${version()}`);
    return 0;
  }
  if (name === 'help' && rest.length) [name, rest] = [rest[0], [...rest.slice(1), '--help']];
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    console.log(await usage());
    return name ? 0 : 1;
  }
  const load = commands[name];
  if (!load) {
    console.error(`gptkit: unknown command '${name}'\n\n${await usage()}`);
    return 2;
  }
  try {
    const cmd = await load();
    return await cmd.run(rest);
  } catch (e) {
    if (e instanceof GptkitError) {
      console.error(`gptkit ${name}: ${e.message}${e.hint ? `\n  hint: ${e.hint}` : ''}`);
      return e.kind === 'interrupted' ? 130 : 1;
    }
    throw e;
  }
}
