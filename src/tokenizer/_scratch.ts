import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { gpt2Tokenizer } from './gpt2.ts';
import { encodeParallel } from './parallel.ts';
function walk(d: string, out: string[]) { for (const n of readdirSync(d).sort()) { const p = join(d, n); const s = statSync(p); if (s.isDirectory()) walk(p, out); else if (/\.(md|ts|js|json)$/.test(n) && s.size < 2e6) out.push(p); } return out; }
const files = walk('node_modules', []);
let text = ''; for (const f of files) { text += readFileSync(f, 'utf8'); if (text.length > 4e6) break; }
const tok = gpt2Tokenizer();
let t0 = performance.now(); const a = tok.encode(text); console.log('serial', performance.now()-t0);
t0 = performance.now(); const b = await encodeParallel(tok, text, {threads: 2}); console.log('parallel', performance.now()-t0, a.length === b.length && a.every((x,i)=>x===b[i]));
