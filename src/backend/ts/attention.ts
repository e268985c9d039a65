import type { AttentionForward, AttentionBackward } from '../backend.ts';
export function attentionForward(_p: AttentionForward): void { throw new Error('attention: not written yet'); }
export function attentionBackward(_p: AttentionBackward): void { throw new Error('attention: not written yet'); }
