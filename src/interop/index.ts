// interop/: checkpoint folders, safetensors, and Hugging Face GPT-2 directories (loadModel reads
// either; exportHfGpt2 writes the latter).
export { loadModel, exportHfGpt2, type LoadedModel } from './load.ts';
export { saveCheckpoint, loadCheckpoint, loadTrainerState, openCheckpointDir, isGptkitCheckpoint, type SaveOptions, type TrainerState } from './checkpoint.ts';
export { readSafetensors, writeSafetensors, openSafetensors, SafetensorsError, toFloat32, fromFloat32, type SafeTensor, type Dtype } from './safetensors.ts';
