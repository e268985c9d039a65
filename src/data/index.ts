// data/: GPT-3's data curation, streaming. Imports nothing from the model stack, nor world/ or
// tokenizer/ (a tokenizer comes in as a ShardTokenizer: name, vocab size, end-of-text id, encode).
//
//   readDocuments(paths, opts)        .txt / JSONL / Parquet (± .gz) → async Docs, bounded memory;
//                                     malformed records reported with file:line, skipped or fatal
//   curate({config, answers?, tokenizer?, onProgress?})
//                                     the stages a config names (exact dedup, quality classifier,
//                                     MinHash-LSH fuzzy dedup, mix, shards) → curated JSONL,
//                                     report.json (+ dedup_precision, dedup_recall, classifier_auc
//                                     with answers) and report.html
//   loadCurateConfig(file)            validated config (unknown keys / wrong types name the key)
//   MinHasher, clusterSignatures, optimalBands      MinHash-LSH pieces
//   QualityClassifier                 train / score / save / load; paretoKeep (GPT-3's rule)
//   mixSources                        sources by weight up to a budget, epochs per source
//   ShardWriter, TokenShards          uint16/uint32 token shards + index.json; random and
//                                     resumable sequential windows for training
export { readDocuments, expandPaths, formatOf, type Doc, type ReadOptions, type Malformed, type InputFormat } from './readers.ts';
export { curate, type CurateOptions, type CurateProgress } from './curate.ts';
export { loadCurateConfig, parseCurateConfig, type CurateConfig, type StageConfig } from './config.ts';
export { MinHasher, SignatureStore, UnionFind, clusterSignatures, optimalBands, jaccard, defaultMinHashParams, type MinHashParams } from './minhash.ts';
export { QualityClassifier, FeatureExtractor, trainLogistic, paretoKeep, rocAuc, defaultClassifierOptions, type ClassifierTrainOptions } from './classifier.ts';
export { mixSources, type MixSource, type MixSourceStats } from './mix.ts';
export { ShardWriter, TokenShards, SequentialReader, dtypeFor, type ShardIndex, type ShardTokenizer, type ShardPosition } from './shards.ts';
export { loadAnswers, type Answer } from './evaluate.ts';
