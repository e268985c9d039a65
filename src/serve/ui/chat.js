// The chat page: a conversation streamed from /v1/chat/completions, with a system prompt and
// sampling settings. The conversation lives in this page only.
import { api, sse, config, header, key, el } from './common.js';

const $ = (id) => document.getElementById(id);
const log = $('log');
let messages = [];
let cfg = null;
let controller = null;

function show(role, text) {
  const m = el('div', `msg ${role}`, text);
  log.append(m);
  log.scrollTop = log.scrollHeight;
  return m;
}

function busy(on) {
  $('send').disabled = on;
  $('stop').disabled = !on;
}

/** Start the stream; while the conversation outgrows the context, its oldest turns are dropped (as `gptkit chat` does). */
async function request(system, body, signal) {
  for (let dropped = 0; ; ) {
    try {
      const r = await api('/v1/chat/completions', { ...body, messages: system ? [{ role: 'system', content: system }, ...messages] : messages }, signal);
      if (dropped) show('note', `the ${dropped} oldest messages were dropped to fit the context of ${cfg.contextLength} tokens`);
      return r;
    } catch (e) {
      if (e.code !== 'context_length_exceeded' || messages.length <= 1) throw e;
      const n = messages[1]?.role === 'assistant' ? 2 : 1;
      messages.splice(0, n);
      dropped += n;
    }
  }
}

async function send(text) {
  messages.push({ role: 'user', content: text });
  show('user', text);
  const out = show('assistant', '');
  out.dataset.streaming = 'true';
  const system = $('system').value.trim();
  const body = {
    model: cfg.model,
    temperature: Number($('temperature').value),
    top_p: Number($('top_p').value),
    max_tokens: Number($('max_tokens').value),
    stream: true,
  };
  if ($('seed').value !== '') body.seed = Number($('seed').value);
  controller = new AbortController();
  busy(true);
  let answer = '';
  let started = false;
  try {
    const r = await request(system, body, controller.signal);
    started = true;
    for await (const data of sse(r)) {
      if (data === '[DONE]') break;
      const chunk = JSON.parse(data);
      if (chunk.error) throw new Error(chunk.error.message);
      const piece = chunk.choices[0]?.delta?.content ?? '';
      answer += piece;
      out.textContent = answer;
      log.scrollTop = log.scrollHeight;
      if (chunk.choices[0]?.finish_reason === 'length') show('note', 'answer cut at max tokens');
    }
  } catch (e) {
    if (e.name === 'AbortError') show('note', 'stopped');
    else show('note', `error: ${e.message}`);
  } finally {
    delete out.dataset.streaming;
    out.dataset.done = 'true';
    if (started) messages.push({ role: 'assistant', content: answer });
    else messages.pop(); // the message got no answer: it leaves the history
    controller = null;
    busy(false);
  }
}

$('compose').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const text = $('input').value.trim();
  if (!text || controller) return;
  $('input').value = '';
  send(text);
});
$('input').addEventListener('keydown', (ev) => {
  if (ev.key === 'Enter' && !ev.shiftKey) { ev.preventDefault(); $('compose').requestSubmit(); }
});
$('stop').addEventListener('click', () => controller?.abort());
$('reset').addEventListener('click', () => { controller?.abort(); messages = []; log.textContent = ''; });
$('temperature').addEventListener('input', () => { $('tval').textContent = $('temperature').value; });
$('apikey').value = key.get();
$('apikey').addEventListener('change', () => key.set($('apikey').value));

config().then((c) => {
  cfg = c;
  header('/', c);
  if (!c.chat) show('note', 'this model has no chat template tokens: chat is unavailable (use /v1/completions)');
}).catch((e) => show('note', `error: ${e.message}`));
