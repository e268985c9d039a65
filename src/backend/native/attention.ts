import type { Backend } from '../backend.ts';
import type { Addon } from './index.ts';
export function nativeAttention(_addon: Addon): Pick<Backend, 'attentionForward' | 'attentionBackward'> { throw new Error('native attention: not written yet'); }
