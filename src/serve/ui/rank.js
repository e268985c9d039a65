// The ranking page: InstructGPT's labelling loop by hand. K answers are sampled for a prompt
// (one /v1/chat/completions request with n = K), the person clicks them from best to worst, and
// the ranking is appended as {"prompt": messages, "responses": [...], "ranking": [...]} (indices
// of responses, best first) — the K-wise format `gptkit rm` trains on.
import { api, config, header, key, el } from './common.js';

const $ = (id) => document.getElementById(id);
let cfg = null;
let current = null; // { prompt: messages, responses: [...] }
let order = [];
let promptIndex = 0;

function status(text) { $('status').textContent = text; }

function render() {
  const box = $('answers');
  box.textContent = '';
  current?.responses.forEach((text, i) => {
    const card = el('div', 'answer', text || '(empty answer)');
    card.dataset.index = String(i);
    const at = order.indexOf(i);
    if (at >= 0) {
      card.classList.add('ranked');
      card.append(el('span', 'badge', `#${at + 1}`));
    }
    card.addEventListener('click', () => {
      if (order.includes(i)) return;
      order.push(i);
      render();
    });
    box.append(card);
  });
  $('submit').disabled = !current || order.length !== current.responses.length;
  $('undo').disabled = order.length === 0;
}

async function sample() {
  const text = $('prompt').value.trim();
  if (!text) return status('write a prompt first');
  const prompt = [{ role: 'user', content: text }];
  const k = Number($('k').value);
  status(`sampling ${k} answers…`);
  $('sample').disabled = true;
  try {
    const r = await (await api('/v1/chat/completions', { model: cfg.model, messages: prompt, n: k, temperature: Number($('temperature').value), max_tokens: Number($('max_tokens').value) })).json();
    current = { prompt, responses: r.choices.map((c) => c.message.content) };
    order = [];
    render();
    status('');
  } catch (e) {
    status(`error: ${e.message}`);
  } finally {
    $('sample').disabled = false;
  }
}

async function save() {
  try {
    await api('/ui/api/rankings', { prompt: current.prompt, responses: current.responses, ranking: order });
    status(`saved to ${cfg.rankings}`);
    current = null;
    order = [];
    render();
  } catch (e) {
    status(`error: ${e.message}`);
  }
}

async function nextPrompt() {
  try {
    const p = await (await api(`/ui/api/prompts/${promptIndex % cfg.prompts}`)).json();
    promptIndex = p.index + 1;
    $('prompt').value = p.messages.filter((m) => m.role === 'user').map((m) => m.content).join('\n\n');
  } catch (e) {
    status(`error: ${e.message}`);
  }
}

$('sample').addEventListener('click', sample);
$('submit').addEventListener('click', save);
$('undo').addEventListener('click', () => { order.pop(); render(); });
$('next').addEventListener('click', nextPrompt);
$('apikey').value = key.get();
$('apikey').addEventListener('change', () => key.set($('apikey').value));

config().then((c) => {
  cfg = c;
  header('/rank', c);
  $('file').textContent = c.rankings ? `rankings are appended to ${c.rankings}` : 'this server writes no rankings';
  if (c.prompts > 0) { $('next').hidden = false; nextPrompt(); }
}).catch((e) => status(`error: ${e.message}`));
