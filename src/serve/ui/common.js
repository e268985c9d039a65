// Shared by the pages: the API key (kept in this browser's localStorage), JSON calls with errors
// in OpenAI's shape turned into messages, and a reader for Server-Sent Events over fetch.
export const key = {
  get: () => localStorage.getItem('gptkit-api-key') || '',
  set: (k) => localStorage.setItem('gptkit-api-key', k),
};

function headers() {
  const h = { 'content-type': 'application/json' };
  if (key.get()) h.authorization = `Bearer ${key.get()}`;
  return h;
}

export async function api(path, body, signal) {
  const r = await fetch(path, body === undefined ? { headers: headers(), signal } : { method: 'POST', headers: headers(), body: JSON.stringify(body), signal });
  if (!r.ok) throw await apiError(r);
  return r;
}

/** An Error with OpenAI's error `code` (e.g. context_length_exceeded) when the body has one. */
async function apiError(r) {
  let body = null;
  try { body = (await r.json()).error; } catch { /* not JSON */ }
  const e = new Error(body?.message ?? `HTTP ${r.status}`);
  e.code = body?.code ?? null;
  return e;
}

/** Each `data:` payload of an SSE response, in order. */
export async function* sse(response) {
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buf = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buf += decoder.decode(value, { stream: true });
    let end;
    while ((end = buf.indexOf('\n\n')) >= 0) {
      const event = buf.slice(0, end);
      buf = buf.slice(end + 2);
      const data = event.split('\n').filter((l) => l.startsWith('data:')).map((l) => l.slice(5).trimStart()).join('\n');
      if (data) yield data;
    }
  }
}

export async function config() {
  return (await api('/ui/api/config')).json();
}

/** Header: page links, the model's name. */
export function header(here, cfg) {
  const pages = cfg.model ? [['/', 'Chat'], ['/rank', 'Rank'], ['/dashboard', 'Dashboard']] : [['/dashboard', 'Dashboard']];
  document.querySelector('header nav').innerHTML = pages.map(([href, name]) => `<a href="${href}" class="${href === here ? 'here' : ''}">${name}</a>`).join('');
  document.querySelector('header .model').textContent = cfg.model ? `model: ${cfg.model} · context ${cfg.contextLength}` : (cfg.run ? `run: ${cfg.run}` : '');
}

export function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}
