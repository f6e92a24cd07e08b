// wagate dashboard: a plain ES module, no build step, no dependencies.
//
// It is a client of the public API: every screen calls /api with the
// HttpOnly session cookie (plus X-CSRF-Token on state-changing requests) and
// follows /api/events (SSE) for live updates. Every string that comes from
// the API is put in the page with textContent (through `el`), never as HTML.

import { viewWarming } from './warming.js';

// ---------------------------------------------------------------- helpers

const $ = (sel, root = document) => root.querySelector(sel);

/** Builds an element; children that are not nodes become text nodes. */
function el(tag, props = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(props || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') e.className = v;
    else if (k === 'dataset') Object.assign(e.dataset, v);
    else if (k.startsWith('on') && typeof v === 'function') e.addEventListener(k.slice(2), v);
    else if (k === 'value') e.value = v;
    else if (k === 'checked') e.checked = !!v;
    else e.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

function clear(node) { while (node.firstChild) node.firstChild.remove(); return node; }

function toast(text, bad = false) {
  const t = el('div', { class: bad ? 't bad' : 't' }, text);
  $('#toast').append(t);
  setTimeout(() => t.remove(), bad ? 6000 : 3000);
}

function fmtTime(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  return isNaN(d) ? String(iso) : d.toLocaleString();
}

function debounce(fn, ms) {
  let t = null;
  return (...a) => { clearTimeout(t); t = setTimeout(() => fn(...a), ms); };
}

function download(filename, text, type = 'text/csv') {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = el('a', { href: url, download: filename });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

function csvCell(v) {
  const s = v === null || v === undefined ? '' : String(v);
  return /[",\n\r]/.test(s) ? '"' + s.replace(/"/g, '""') + '"' : s;
}

/** A small CSV parser (quotes, commas, CRLF). */
function parseCsv(text) {
  const rows = []; let row = []; let cell = ''; let q = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (q) {
      if (c === '"' && text[i + 1] === '"') { cell += '"'; i++; }
      else if (c === '"') q = false;
      else cell += c;
    } else if (c === '"') q = true;
    else if (c === ',' || c === ';') { row.push(cell); cell = ''; }
    else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      row.push(cell); cell = '';
      if (row.some((x) => x.trim() !== '')) rows.push(row);
      row = [];
    } else cell += c;
  }
  row.push(cell);
  if (row.some((x) => x.trim() !== '')) rows.push(row);
  return rows.map((r) => r.map((x) => x.trim()));
}

function readFile(input) {
  return new Promise((resolve, reject) => {
    const f = input.files && input.files[0];
    if (!f) return resolve(null);
    const r = new FileReader();
    r.onload = () => resolve(r.result);
    r.onerror = () => reject(r.error);
    r.readAsText(f);
  });
}

function readFileBase64(file) {
  return new Promise((resolve, reject) => {
    const r = new FileReader();
    r.onload = () => resolve(String(r.result).replace(/^data:[^,]*,/, ''));
    r.onerror = () => reject(r.error);
    r.readAsDataURL(file);
  });
}

// -------------------------------------------------------------------- API

let me = null;

class ApiError extends Error {
  constructor(status, code, message) { super(message || code || `HTTP ${status}`); this.status = status; this.code = code; }
}

async function api(method, path, body, opts = {}) {
  const headers = { Accept: 'application/json' };
  if (me && me.csrfToken) headers['X-CSRF-Token'] = me.csrfToken;
  let payload;
  if (body !== undefined) { headers['Content-Type'] = 'application/json'; payload = JSON.stringify(body); }
  const r = await fetch(path, { method, headers, body: payload, credentials: 'same-origin' });
  let data = null;
  try { data = await r.json(); } catch (_) { data = null; }
  if (!r.ok) {
    const err = (data && data.error) || {};
    if (r.status === 401 && !opts.allow401 && me) { me = null; stopLive(); renderLogin('Your session ended: log in again.'); }
    throw new ApiError(r.status, err.code, err.message);
  }
  return data ? data.data : null;
}
const GET = (p, o) => api('GET', p, undefined, o);
const POST = (p, b) => api('POST', p, b === undefined ? {} : b);
const PUT = (p, b) => api('PUT', p, b);
const PATCH = (p, b) => api('PATCH', p, b);
const DEL = (p) => api('DELETE', p);
const enc = encodeURIComponent;

/** Runs an action; a failure becomes a toast instead of an uncaught error. */
async function attempt(fn, okText) {
  try { const r = await fn(); if (okText) toast(okText); return r; }
  catch (e) { toast(e.message || String(e), true); return undefined; }
}

async function allSessions() {
  const out = [];
  for (let page = 1; page <= 50; page++) {
    const r = await fetch(`/api/sessions?limit=100&page=${page}`, { credentials: 'same-origin', headers: { Accept: 'application/json' } });
    if (r.status === 401) { await GET('/api/auth/me'); return out; }
    const body = await r.json();
    if (!body.success) throw new ApiError(r.status, body.error && body.error.code, body.error && body.error.message);
    out.push(...body.data);
    const p = body.pagination || body.meta && body.meta.pagination;
    if (!p || body.data.length < 100 || (p.totalPages && page >= p.totalPages)) break;
  }
  return out;
}

// ------------------------------------------------------------ live events

let source = null;
const liveHandlers = new Set();
const eventTimes = [];

function startLive() {
  if (source) return;
  source = new EventSource('/api/events');
  source.onmessage = (m) => {
    let ev;
    try { ev = JSON.parse(m.data); } catch (_) { return; }
    eventTimes.push(Date.now());
    while (eventTimes.length && eventTimes[0] < Date.now() - 60000) eventTimes.shift();
    for (const h of [...liveHandlers]) { try { h(ev); } catch (e) { console.error(e); } }
  };
}
function stopLive() { if (source) { source.close(); source = null; } liveHandlers.clear(); }
/** Subscribes `fn` to live events until the current screen changes. */
function onLive(fn) { liveHandlers.add(fn); screenCleanups.push(() => liveHandlers.delete(fn)); }

// ------------------------------------------------------------------ login

async function boot() {
  try {
    me = await GET('/api/auth/me', { allow401: true });
  } catch (_) { me = null; }
  if (me && me.csrfToken) renderApp(); else renderLogin();
}

function renderLogin(notice) {
  closeModal();
  const root = clear($('#root'));
  let mode = 'operator';
  const err = el('p', { id: 'login-error', class: 'error-text', role: 'alert' }, notice || '');
  const opFields = el('div', { id: 'operator-fields' },
    el('label', { for: 'username' }, 'User name'),
    el('input', { id: 'username', name: 'username', autocomplete: 'username', required: true }),
    el('label', { for: 'password' }, 'Password'),
    el('input', { id: 'password', name: 'password', type: 'password', autocomplete: 'current-password' }));
  const keyFields = el('div', { id: 'tenant-fields', hidden: true },
    el('label', { for: 'api-key' }, 'Tenant API key'),
    el('input', { id: 'api-key', name: 'apiKey', type: 'password', autocomplete: 'off' }));
  const tabOp = el('button', { type: 'button', id: 'tab-operator', class: 'active' }, 'Operator');
  const tabKey = el('button', { type: 'button', id: 'tab-tenant' }, 'Tenant key');
  const setMode = (m) => {
    mode = m;
    tabOp.classList.toggle('active', m === 'operator');
    tabKey.classList.toggle('active', m === 'tenant');
    opFields.hidden = m !== 'operator';
    keyFields.hidden = m !== 'tenant';
    // A hidden required field would block the form's submission.
    $('#username', opFields).required = m === 'operator';
    $('#api-key', keyFields).required = m === 'tenant';
  };
  tabOp.addEventListener('click', () => setMode('operator'));
  tabKey.addEventListener('click', () => setMode('tenant'));
  const form = el('form', { id: 'login-form', class: 'login' },
    el('h1', {}, 'wagate'),
    el('div', { class: 'tabs' }, tabOp, tabKey),
    opFields, keyFields, err,
    el('button', { type: 'submit', id: 'login-submit', class: 'primary' }, 'Log in'));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    err.textContent = '';
    const body = mode === 'operator'
      ? { username: $('#username').value, password: $('#password').value }
      : { apiKey: $('#api-key').value };
    try {
      const r = await api('POST', '/api/auth/login', body, { allow401: true });
      me = { tenantId: r.tenantId, isAdmin: r.isAdmin, username: r.username, csrfToken: r.csrfToken };
      if (!location.hash || location.hash === '#/') location.hash = '#/overview';
      renderApp();
    } catch (ex) {
      err.textContent = ex.status === 429 ? 'Too many failed attempts: wait a minute.' : 'Wrong user name, password or key.';
    }
  });
  root.append(form);
}

async function logout() {
  await attempt(() => POST('/api/auth/logout'));
  me = null;
  stopLive();
  location.hash = '';
  renderLogin();
}

// ----------------------------------------------------------------- layout

const SCREENS = [
  ['overview', 'Overview'],
  ['sessions', 'Sessions'],
  ['messages', 'Messages'],
  ['groups', 'Groups'],
  ['checker', 'Number checker'],
  ['bulk', 'Bulk'],
  ['warming', 'Warming'],
  ['outbox', 'Outbox workers', true],
  ['tenants', 'Tenants & keys', true],
  ['events', 'Event monitor'],
];

function renderApp() {
  const root = clear($('#root'));
  const nav = el('nav', { id: 'nav' }, el('div', { class: 'brand' }, 'wagate'));
  for (const [key, label, adminOnly] of SCREENS) {
    if (adminOnly && !me.isAdmin) continue;
    nav.append(el('a', { href: `#/${key}`, id: `nav-${key}`, dataset: { screen: key } }, label));
  }
  nav.append(el('a', { href: '/api/docs', target: '_blank', rel: 'noopener', id: 'nav-docs' }, 'API docs ↗'));
  nav.append(el('div', { class: 'who', id: 'who' }, me.isAdmin ? `Operator ${me.username || ''}` : `Tenant ${me.tenantId}`));
  nav.append(el('button', { id: 'logout', class: 'small', onclick: logout }, 'Log out'));
  root.append(el('div', { class: 'layout' }, nav, el('main', { id: 'main' })));
  startLive();
  route();
}

let screenCleanups = [];
window.addEventListener('hashchange', () => { if (me) route(); });

function route() {
  for (const f of screenCleanups.splice(0)) { try { f(); } catch (_) { /* ignore */ } }
  const parts = (location.hash.replace(/^#\/?/, '') || 'overview').split('/').map(decodeURIComponent);
  const [screen, ...args] = parts;
  for (const a of document.querySelectorAll('nav#nav a[data-screen]')) {
    const active = a.dataset.screen === screen || (screen === 'session' && a.dataset.screen === 'sessions');
    a.classList.toggle('active', active);
  }
  const main = clear($('#main'));
  const view = VIEWS[screen] || VIEWS.overview;
  Promise.resolve(view(main, args)).catch((e) => {
    main.append(el('p', { class: 'error-text' }, e.message || String(e)));
  });
}

function every(ms, fn) {
  const t = setInterval(fn, ms);
  screenCleanups.push(() => clearInterval(t));
}

// ------------------------------------------------------------------ modal

let modalCleanup = null;
function openModal(title, body, buttons = [], opts = {}) {
  closeModal();
  const modal = el('div', { class: 'modal', role: 'dialog', 'aria-modal': 'true', id: opts.id },
    el('h2', {}, title), body, buttons.length ? el('div', { class: 'buttons' }, buttons) : null);
  const backdrop = el('div', { class: 'modal-backdrop' }, modal);
  backdrop.addEventListener('click', (e) => { if (e.target === backdrop) closeModal(); });
  $('#modal-root').append(backdrop);
  modalCleanup = opts.onClose || null;
  return modal;
}
function closeModal() {
  const root = $('#modal-root');
  if (root) clear(root);
  if (modalCleanup) { const f = modalCleanup; modalCleanup = null; f(); }
}

/** Our own confirmation (no browser dialog). Resolves to true or false. */
function confirmDialog(text) {
  return new Promise((resolve) => {
    let answered = false;
    const answer = (v) => { if (!answered) { answered = true; resolve(v); } };
    openModal('Please confirm', el('p', {}, text), [
      el('button', { id: 'confirm-cancel', onclick: () => { answer(false); closeModal(); } }, 'Cancel'),
      el('button', { id: 'confirm-ok', class: 'primary', onclick: () => { answer(true); closeModal(); } }, 'Confirm'),
    ], { id: 'confirm-modal', onClose: () => answer(false) });
  });
}

// -------------------------------------------------------- session helpers

function statusBadge(status) { return el('span', { class: 'badge status', dataset: { status } }, status); }
// Why a session is not connected (a ban, a logout, or WhatsApp that cannot
// be reached), with the engine's last error and next try as a tooltip.
function whyLine(s) {
  if (!s.statusReason) return null;
  const next = s.nextRetryAt ? ` · next try ${fmtTime(s.nextRetryAt)}` : '';
  return el('div', { class: 'muted why', title: s.lastError || '' }, s.statusReason.replace(/_/g, ' ') + next);
}

async function sessionPicker(id, onChange, preferred) {
  const sessions = await allSessions();
  const sel = el('select', { id });
  for (const s of sessions) sel.append(el('option', { value: s.id }, `${s.name} (${s.status}${s.phoneNumber ? ', +' + s.phoneNumber : ''})`));
  const connected = sessions.find((s) => s.status === 'CONNECTED');
  const initial = preferred && sessions.some((s) => s.id === preferred) ? preferred : connected ? connected.id : sessions[0] && sessions[0].id;
  if (initial) sel.value = initial;
  sel.addEventListener('change', () => onChange(sel.value));
  return { sel, sessions, initial };
}

// --------------------------------------------------------------- overview

async function viewOverview(main) {
  main.append(el('h1', {}, 'Overview'));
  const cards = el('div', { class: 'cards', id: 'overview-cards' });
  const statusWrap = el('div', { class: 'panel', id: 'overview-status' });
  main.append(cards, el('h2', {}, 'Sessions by status'), statusWrap);
  const card = (id, label) => {
    const v = el('div', { class: 'value', id }, '…');
    const sub = el('div', { class: 'sub' });
    cards.append(el('div', { class: 'card' }, el('div', { class: 'label' }, label), v, sub));
    return { v, sub };
  };
  const sessionsCard = card('ov-sessions', 'Sessions connected');
  const inCard = card('ov-in', 'Messages in today');
  const outCard = card('ov-out', 'Messages out today');
  const queueCard = card('ov-queue', 'Queue depth');
  const hooksCard = card('ov-webhooks', 'Webhook failures today');
  const rateCard = card('ov-rate', 'Live events / min');
  const refresh = async () => {
    const [sessions, stats] = await Promise.all([allSessions(), GET('/api/stats')]);
    const by = {};
    for (const s of sessions) by[s.status] = (by[s.status] || 0) + 1;
    sessionsCard.v.textContent = `${by.CONNECTED || 0} / ${sessions.length}`;
    clear(statusWrap);
    if (!sessions.length) statusWrap.append(el('p', { class: 'muted' }, 'No sessions yet.'));
    for (const [st, n] of Object.entries(by)) statusWrap.append(el('span', { style: undefined }, statusBadge(st), ` ${n}   `));
    inCard.v.textContent = stats.messagesIn;
    outCard.v.textContent = stats.messagesOut;
    queueCard.v.textContent = stats.queueDepth;
    hooksCard.v.textContent = stats.webhookFailures;
    hooksCard.sub.textContent = 'failed or retried attempts';
  };
  const showRate = () => {
    while (eventTimes.length && eventTimes[0] < Date.now() - 60000) eventTimes.shift();
    rateCard.v.textContent = eventTimes.length;
    rateCard.sub.textContent = 'over the last minute';
  };
  await refresh();
  showRate();
  const later = debounce(() => refresh().catch(() => {}), 800);
  onLive(() => { showRate(); later(); });
  every(1000, showRate);
  every(15000, () => refresh().catch(() => {}));
}

// --------------------------------------------------------------- sessions

async function viewSessions(main) {
  main.append(el('h1', {}, 'Sessions'));
  const search = el('input', { id: 'session-search', type: 'search', placeholder: 'Search name, phone, notes…' });
  const fStatus = el('select', { id: 'filter-status' }, el('option', { value: '' }, 'Any status'),
    ...['CONNECTED', 'SCAN_QR', 'CONNECTING', 'INITIALIZING', 'DISCONNECTED', 'FAILED'].map((s) => el('option', { value: s }, s)));
  const fCircle = el('input', { id: 'filter-circle', placeholder: 'Circle' });
  const fUsed = el('select', { id: 'filter-used' }, el('option', { value: '' }, 'Used: any'),
    el('option', { value: 'true' }, 'Used'), el('option', { value: 'false' }, 'Not used'));
  const add = el('button', { id: 'new-session', class: 'primary', onclick: () => newSessionModal(reload) }, '+ New session');
  main.append(el('div', { class: 'toolbar' }, search, fStatus, fCircle, fUsed, el('span', { class: 'spacer' }), add));
  const tbody = el('tbody');
  main.append(el('div', { class: 'table-wrap' }, el('table', { id: 'sessions-table' },
    el('thead', {}, el('tr', {}, ...['Name', 'Phone', 'Status', 'Circle', 'Used', 'Notes', 'Actions'].map((h) => el('th', {}, h)))),
    tbody)));
  let sessions = [];
  const render = () => {
    clear(tbody);
    const q = search.value.trim().toLowerCase();
    const rows = sessions.filter((s) =>
      (!fStatus.value || s.status === fStatus.value)
      && (!fCircle.value.trim() || (s.circle || '').toLowerCase() === fCircle.value.trim().toLowerCase())
      && (!fUsed.value || String(!!s.used) === fUsed.value)
      && (!q || [s.name, s.id, s.phoneNumber, s.pushName, s.notes, s.circle].some((x) => (x || '').toLowerCase().includes(q))));
    if (!rows.length) tbody.append(el('tr', {}, el('td', { colspan: 7, class: 'muted' }, sessions.length ? 'No session matches.' : 'No sessions yet: create one.')));
    for (const s of rows) tbody.append(sessionRow(s, reload));
  };
  const reload = async () => { sessions = await allSessions(); render(); };
  for (const c of [search, fCircle]) c.addEventListener('input', render);
  for (const c of [fStatus, fUsed]) c.addEventListener('change', render);
  await reload();
  const later = debounce(() => reload().catch(() => {}), 300);
  onLive((ev) => { if (String(ev.event).startsWith('session.')) later(); });
  every(10000, () => reload().catch(() => {}));
}

function sessionRow(s, reload) {
  const act = (label, fn, cls) => el('button', { class: 'small ' + (cls || ''), dataset: { action: label.toLowerCase() }, onclick: fn }, label);
  const confirmAnd = (verb, path, method = 'POST') => async () => {
    if (!(await confirmDialog(`${verb} session “${s.name}”?`))) return;
    await attempt(() => api(method, path, method === 'DELETE' ? undefined : {}), `${verb}: done`);
    reload().catch(() => {});
  };
  const base = `/api/sessions/${enc(s.id)}`;
  return el('tr', { dataset: { id: s.id, name: s.name } },
    el('td', { class: 'name' }, el('a', { href: `#/session/${enc(s.id)}` }, s.name), el('div', { class: 'muted' }, s.pushName || '')),
    el('td', { class: 'phone' }, s.phoneNumber ? '+' + s.phoneNumber : '—'),
    el('td', { class: 'status' }, statusBadge(s.status), whyLine(s)),
    el('td', { class: 'circle' }, s.circle || ''),
    el('td', { class: 'used' }, s.used ? 'yes' : 'no'),
    el('td', { class: 'notes' }, s.notes || ''),
    el('td', { class: 'actions' },
      s.status !== 'CONNECTED' ? act('QR', () => qrModal(s.id, reload), 'primary') : null,
      act('Start', confirmAnd('Start', `${base}/start`)),
      act('Stop', confirmAnd('Stop', `${base}/stop`)),
      act('Restart', confirmAnd('Restart', `${base}/restart`)),
      act('Logout', confirmAnd('Log out', `${base}/logout`)),
      act('Edit', () => editSessionModal(s, reload)),
      act('Delete', confirmAnd('Delete', base, 'DELETE'), 'danger')));
}

function newSessionModal(reload) {
  const name = el('input', { id: 'new-session-name', type: 'text', placeholder: 'e.g. sales-1', required: true });
  const circle = el('input', { id: 'new-session-circle', type: 'text' });
  const notes = el('input', { id: 'new-session-notes', type: 'text' });
  const go = async () => {
    const body = { name: name.value.trim() };
    if (circle.value.trim()) body.circle = circle.value.trim();
    if (notes.value.trim()) body.notes = notes.value.trim();
    const created = await attempt(() => POST('/api/sessions', body));
    if (!created) return;
    closeModal();
    reload().catch(() => {});
    qrModal(created.id, reload);
  };
  openModal('New session', el('div', {},
    el('label', { for: 'new-session-name' }, 'Name'), name,
    el('label', { for: 'new-session-circle' }, 'Circle (optional)'), circle,
    el('label', { for: 'new-session-notes' }, 'Notes (optional)'), notes), [
    el('button', { onclick: closeModal }, 'Cancel'),
    el('button', { id: 'create-session', class: 'primary', onclick: go }, 'Create'),
  ]);
  name.focus();
}

function editSessionModal(s, reload) {
  const name = el('input', { id: 'edit-name', type: 'text', value: s.name });
  const used = el('input', { id: 'edit-used', type: 'checkbox', checked: !!s.used });
  const notes = el('input', { id: 'edit-notes', type: 'text', value: s.notes || '' });
  const circle = el('input', { id: 'edit-circle', type: 'text', value: s.circle || '' });
  const device = el('input', { id: 'edit-device', type: 'text', value: s.deviceName || '' });
  const save = async () => {
    const body = { name: name.value, used: used.checked, notes: notes.value, circle: circle.value, deviceName: device.value };
    const ok = await attempt(() => PATCH(`/api/sessions/${enc(s.id)}`, body), 'Saved');
    if (ok !== undefined) { closeModal(); reload().catch(() => {}); }
  };
  openModal(`Edit “${s.name}”`, el('div', {},
    el('label', { for: 'edit-name' }, 'Name'), name,
    el('label', { class: 'inline' }, used, 'Used by an application'),
    el('label', { for: 'edit-notes' }, 'Notes'), notes,
    el('label', { for: 'edit-circle' }, 'Circle'), circle,
    el('label', { for: 'edit-device' }, 'Device name (shown on the phone from the next pairing)'), device), [
    el('button', { onclick: closeModal }, 'Cancel'),
    el('button', { id: 'edit-save', class: 'primary', onclick: save }, 'Save'),
  ]);
}

/** The QR modal: shows the current code, follows rotations, closes itself once the phone has scanned. */
function qrModal(id, reload) {
  let open = true;
  let busy = false;
  let shown = null;
  const img = el('img', { id: 'qr-image', alt: 'QR code to scan with WhatsApp' });
  const box = el('div', { class: 'qr-box' }, el('p', { class: 'muted', id: 'qr-wait' }, 'Waiting for a QR code…'));
  const status = el('p', { id: 'qr-status', class: 'muted' }, '');
  const phone = el('input', { id: 'pair-phone', type: 'text', placeholder: 'Phone, e.g. 628123456789' });
  const codeOut = el('p', { id: 'pair-code', class: 'key-once', hidden: true });
  const pair = async () => {
    const r = await attempt(() => POST(`/api/sessions/${enc(id)}/pair-code`, { phoneNumber: phone.value.trim() }));
    if (r) { codeOut.hidden = false; codeOut.textContent = `Enter this code on the phone: ${r.code}`; }
  };
  const refresh = async () => {
    if (!open || busy) return;
    busy = true;
    try {
      const s = await GET(`/api/sessions/${enc(id)}`);
      status.textContent = `Status: ${s.status}` + (s.statusReason ? ` (${s.statusReason.replace(/_/g, ' ')}${s.lastError ? ': ' + s.lastError : ''})` : '');
      if (s.status === 'CONNECTED') {
        toast(`Session ${s.name} connected${s.phoneNumber ? ' as +' + s.phoneNumber : ''}`);
        closeModal();
        reload && reload().catch(() => {});
        return;
      }
      const waiting = ['SCAN_QR', 'INITIALIZING'].includes(s.status);
      if (!waiting || (shown && s.qr === shown)) return;
      const qr = await GET(`/api/sessions/${enc(id)}/qr`).catch(() => null);
      if (open && qr && qr.image && qr.code !== shown) {
        shown = qr.code;
        img.src = qr.image;
        img.dataset.code = qr.code;
        clear(box).append(img);
      }
    } catch (_) { /* next round */ } finally { busy = false; }
  };
  const onEvent = (ev) => {
    if (ev.sessionId !== id || !/^session\./.test(ev.event)) return;
    if (ev.event === 'session.status' && ev.data && ev.data.status === 'CONNECTED') {
      toast('Phone linked');
      closeModal();
      if (reload) reload().catch(() => {});
      return;
    }
    refresh();
  };
  liveHandlers.add(onEvent);
  const timer = setInterval(refresh, 2000);
  openModal('Link a phone', el('div', {}, box, status,
    el('p', { class: 'muted' }, 'Open WhatsApp → Linked devices → Link a device, and scan. The code refreshes by itself.'),
    el('h2', {}, 'Or use a pairing code'),
    el('div', { class: 'form-row' }, phone, el('button', { id: 'pair-request', onclick: pair }, 'Get code')), codeOut),
  [el('button', { id: 'qr-close', onclick: closeModal }, 'Close')],
  { id: 'qr-modal', onClose: () => { open = false; clearInterval(timer); liveHandlers.delete(onEvent); } });
  refresh();
}

// --------------------------------------------------------- session detail

async function viewSession(main, [id]) {
  const base = `/api/sessions/${enc(id)}`;
  const s = await GET(base);
  main.append(el('div', { class: 'toolbar' }, el('a', { href: '#/sessions' }, '← Sessions')),
    el('h1', {}, `Session ${s.name}`));
  const identity = el('div', { class: 'panel', id: 'identity' });
  const renderIdentity = (s) => {
    clear(identity).append(el('h2', {}, 'Identity'), el('table', {}, el('tbody', {},
      ...[['Id', s.id], ['Status', statusBadge(s.status)], ['Why', s.statusReason ? [s.statusReason, s.lastError, s.nextRetryAt && `next try ${fmtTime(s.nextRetryAt)}`].filter(Boolean).join(' · ') : '—'], ['Phone', s.phoneNumber ? '+' + s.phoneNumber : '—'],
        ['Push name', s.pushName || '—'], ['Platform', s.platform || '—'], ['Connected at', fmtTime(s.connectedAt) || '—'],
        ['Circle', s.circle || '—'], ['Used', s.used ? 'yes' : 'no'], ['Notes', s.notes || '—'], ['Device', s.deviceName || '—']]
        .map(([k, v]) => el('tr', {}, el('th', {}, k), el('td', {}, v))))));
  };
  renderIdentity(s);
  const picture = el('div', { class: 'panel', id: 'profile-picture' }, el('h2', {}, 'Profile picture'));
  GET(`${base}/profile-picture`).then((p) => {
    picture.append(p && p.url ? el('p', {}, el('a', { href: p.url, target: '_blank', rel: 'noopener noreferrer' }, 'Open the profile picture')) : el('p', { class: 'muted' }, 'No profile picture.'));
  }).catch((e) => picture.append(el('p', { class: 'muted' }, e.message)));
  const pacing = el('div', { class: 'panel', id: 'pacing' });
  const queue = el('div', { class: 'panel', id: 'queue' });
  const hooks = el('div', { class: 'panel', id: 'webhooks' });
  main.append(el('div', { class: 'grid2' }, identity, el('div', {}, picture, pacing)), queue, hooks);

  const loadPacing = async () => {
    const p = await GET(`${base}/pacing`);
    const area = el('textarea', { id: 'pacing-json', rows: 8 });
    area.value = JSON.stringify(p, null, 2);
    clear(pacing).append(el('h2', {}, 'Pacing'), area, el('div', { class: 'toolbar' },
      el('button', { id: 'pacing-save', class: 'primary', onclick: async () => {
        let body; try { body = JSON.parse(area.value); } catch (e) { toast('Not valid JSON: ' + e.message, true); return; }
        await attempt(() => PUT(`${base}/pacing`, body), 'Pacing saved'); loadPacing().catch(() => {});
      } }, 'Save'),
      el('button', { onclick: async () => { await attempt(() => DEL(`${base}/pacing`), 'Pacing reset to defaults'); loadPacing().catch(() => {}); } }, 'Reset to defaults')));
  };
  const loadQueue = async () => {
    const [q, items] = await Promise.all([GET(`${base}/queue`), GET(`${base}/queue/items?limit=100`)]);
    const rows = el('tbody');
    if (!items.length) rows.append(el('tr', {}, el('td', { colspan: 8, class: 'muted' }, 'Nothing waits.')));
    for (const m of items) {
      rows.append(el('tr', { class: 'queued-item', dataset: { id: m.queueId, status: m.status } },
        el('td', {}, fmtTime(m.createdAt)), el('td', {}, m.type), el('td', {}, m.chatId), el('td', {}, m.lane),
        el('td', { class: 'status' }, m.status), el('td', {}, m.attempts),
        el('td', {}, m.notBefore ? fmtTime(m.notBefore) : '—'),
        el('td', {}, m.status === 'queued' ? el('button', { class: 'small danger cancel-queued', onclick: async () => {
          if (await confirmDialog(`Cancel the queued ${m.type} to ${m.chatId}?`)) {
            await attempt(() => DEL(`${base}/queue/${enc(m.queueId)}`), 'Cancelled');
            loadQueue().catch(() => {});
          }
        } }, 'Cancel') : '')));
    }
    clear(queue).append(el('h2', {}, 'Send queue'), el('div', { class: 'cards' },
      ...[['Direct', q.depth.direct], ['Bulk', q.depth.bulk], ['Drip', q.depth.drip], ['Sending', q.sending],
        ['Sent last hour', q.sentLastHour]].map(([k, v]) => el('div', { class: 'card' }, el('div', { class: 'label' }, k), el('div', { class: 'value' }, v)))),
    el('p', {}, 'Next send: ', q.nextSendAt ? fmtTime(q.nextSendAt) : 'nothing waits'),
    el('div', { class: 'table-wrap' }, el('table', { id: 'queue-items' },
      el('thead', {}, el('tr', {}, ...['Queued', 'Type', 'Chat', 'Lane', 'Status', 'Tries', 'Not before', ''].map((x) => el('th', {}, x)))), rows)));
  };
  const loadHooks = async () => {
    const list = await GET(`${base}/webhooks`);
    const url = el('input', { id: 'webhook-url', type: 'url', placeholder: 'https://example.com/hook', size: 40 });
    const events = el('input', { id: 'webhook-events', placeholder: 'events (default *)' });
    clear(hooks).append(el('h2', {}, 'Webhooks'),
      el('div', { class: 'form-row' }, url, events, el('button', { id: 'webhook-add', class: 'primary', onclick: async () => {
        const body = { url: url.value.trim() };
        if (events.value.trim()) body.events = events.value.split(',').map((x) => x.trim()).filter(Boolean);
        await attempt(() => POST(`${base}/webhooks`, body), 'Webhook added'); loadHooks().catch(() => {});
      } }, 'Add webhook')));
    if (!list.length) hooks.append(el('p', { class: 'muted' }, 'No webhooks.'));
    for (const h of list) hooks.append(webhookPanel(base, h, loadHooks));
  };
  await Promise.all([loadPacing(), loadQueue(), loadHooks()].map((p) => p.catch((e) => toast(e.message, true))));
  const later = debounce(async () => {
    renderIdentity(await GET(base));
    loadQueue().catch(() => {});
    for (const f of refreshDeliveries) f();
  }, 700);
  onLive((ev) => { if (ev.sessionId === id) later(); });
  every(5000, () => { for (const f of refreshDeliveries) f(); });
}

let refreshDeliveries = new Set();

function webhookPanel(base, h, reloadHooks) {
  const hb = `${base}/webhooks/${enc(h.id)}`;
  const log = el('tbody');
  const fromSeq = el('input', { type: 'number', min: 0, placeholder: 'seq', class: 'replay-seq' });
  const loadLog = async () => {
    const rows = await GET(`${hb}/deliveries?limit=50`);
    clear(log);
    if (!rows.length) log.append(el('tr', {}, el('td', { colspan: 8, class: 'muted' }, 'No deliveries yet.')));
    for (const d of rows) {
      const cls = d.outcome === 'delivered' ? 'ok' : d.outcome === 'failed' ? 'bad' : 'warn';
      log.append(el('tr', { class: 'delivery', dataset: { id: d.id, outcome: d.outcome } },
        el('td', {}, fmtTime(d.createdAt)), el('td', {}, d.event), el('td', {}, d.seq), el('td', {}, d.attempt),
        el('td', { class: 'outcome' }, el('span', { class: 'badge ' + cls }, d.outcome)),
        el('td', { class: 'code' }, d.statusCode ?? '—'), el('td', { class: 'latency' }, `${d.latencyMs} ms`),
        el('td', { class: 'error' }, d.error || ''),
        el('td', {}, el('button', { class: 'small redeliver', onclick: async () => {
          await attempt(() => POST(`${hb}/deliveries/${enc(d.id)}/redeliver`), 'Redelivery queued');
          setTimeout(() => loadLog().catch(() => {}), 800);
        } }, 'Redeliver'))));
    }
  };
  const refresher = () => { if (document.body.contains(log)) loadLog().catch(() => {}); else refreshDeliveries.delete(refresher); };
  refreshDeliveries.add(refresher);
  loadLog().catch((e) => log.append(el('tr', {}, el('td', {}, e.message))));
  return el('div', { class: 'panel webhook', dataset: { id: h.id } },
    el('div', { class: 'toolbar' },
      el('strong', {}, h.url), el('span', { class: 'badge ' + (h.active ? 'ok' : 'bad') }, h.active ? 'active' : 'disabled'),
      el('span', { class: 'muted' }, (h.events || []).join(', ')), el('span', { class: 'spacer' }),
      el('button', { class: 'small', onclick: async () => { await attempt(() => PATCH(hb, { active: !h.active }), 'Saved'); reloadHooks().catch(() => {}); } }, h.active ? 'Disable' : 'Enable'),
      el('button', { class: 'small test-delivery', onclick: async () => {
        const s = await GET(hb); const seq = Math.max(0, (s.lastDeliveredSeq || 1) - 1);
        await attempt(() => POST(`${hb}/replay`, { fromSeq: seq }), 'Test: the last event is sent again');
      } }, 'Test'),
      fromSeq, el('button', { class: 'small', onclick: async () => { await attempt(() => POST(`${hb}/replay`, { fromSeq: Number(fromSeq.value || 0) }), 'Replay started'); } }, 'Replay from seq'),
      el('button', { class: 'small danger', onclick: async () => { if (await confirmDialog(`Delete webhook ${h.url}?`)) { await attempt(() => DEL(hb), 'Deleted'); reloadHooks().catch(() => {}); } } }, 'Delete')),
    h.disabledReason ? el('p', { class: 'error-text' }, h.disabledReason) : null,
    el('div', { class: 'table-wrap' }, el('table', { class: 'deliveries' },
      el('thead', {}, el('tr', {}, ...['Time', 'Event', 'Seq', 'Try', 'Outcome', 'HTTP', 'Latency', 'Error', ''].map((x) => el('th', {}, x)))), log)));
}

// ----------------------------------------------------------- message room

async function viewMessages(main, [sid, chat]) {
  main.append(el('h1', {}, 'Messages'));
  const picker = await sessionPicker('room-session', (v) => { location.hash = `#/messages/${enc(v)}`; }, sid);
  const session = picker.initial;
  const newChat = el('input', { id: 'new-chat', placeholder: 'New chat: phone number' });
  main.append(el('div', { class: 'toolbar' }, picker.sel, newChat,
    el('button', { onclick: () => { const p = newChat.value.replace(/[^0-9]/g, ''); if (p) location.hash = `#/messages/${enc(session)}/${enc(p + '@c.us')}`; } }, 'Open chat')));
  if (!session) { main.append(el('p', { class: 'muted' }, 'Create and link a session first.')); return; }
  const chatList = el('ul', { id: 'chat-list' });
  const head = el('div', { class: 'conv-head', id: 'conv-head' }, chat ? chat : 'Pick a chat');
  const conv = el('div', { id: 'conversation' });
  const text = el('input', { id: 'compose-text', type: 'text', placeholder: 'Type a message', autocomplete: 'off' });
  const file = el('input', { id: 'compose-file', type: 'file' });
  const replyBox = el('div', { class: 'reply-to', id: 'reply-to', hidden: true });
  let replyTo = null;
  const setReply = (m) => {
    replyTo = m;
    replyBox.hidden = !m;
    clear(replyBox);
    if (m) replyBox.append('Replying to: ', (m.body || m.type).slice(0, 80), ' ', el('button', { class: 'small', onclick: () => setReply(null) }, '×'));
  };
  const composer = el('form', { class: 'composer', id: 'composer' }, replyBox, text, file,
    el('button', { type: 'submit', id: 'send', class: 'primary' }, 'Send'));
  main.append(el('div', { class: 'room' },
    el('div', { class: 'chat-pane' }, chatList),
    el('div', { class: 'conv-pane' }, head, conv, chat ? composer : null)));
  const base = `/api/sessions/${enc(session)}`;
  let names = {};

  const loadChats = async () => {
    const chats = await GET(`${base}/chats?limit=100`);
    clear(chatList);
    if (!chats.length) chatList.append(el('li', { class: 'muted' }, 'No chats yet.'));
    for (const c of chats) {
      names[c.id] = c.name;
      const last = c.lastMessage;
      chatList.append(el('li', { class: c.id === chat ? 'active' : '', dataset: { chat: c.id },
        onclick: () => { location.hash = `#/messages/${enc(session)}/${enc(c.id)}`; } },
      el('div', { class: 'chat-name' }, c.name || c.id),
      el('div', { class: 'chat-last' }, (last.fromMe ? 'You: ' : '') + preview(last))));
    }
    if (chat) head.textContent = names[chat] ? `${names[chat]} (${chat})` : chat;
  };
  const loadConversation = async () => {
    if (!chat) return;
    const msgs = (await GET(`${base}/chats/${enc(chat)}/messages?limit=100`)).reverse();
    const byId = {}; const reactions = {};
    for (const m of msgs) byId[m.id] = m;
    for (const m of msgs) if (m.type === 'reaction' && m.quotedMessageId) (reactions[m.quotedMessageId] ||= []).push(m.body || '');
    const atBottom = conv.scrollHeight - conv.scrollTop - conv.clientHeight < 40;
    clear(conv);
    for (const m of msgs) {
      if (m.type === 'reaction') continue;
      conv.append(messageBubble(m, byId, reactions[m.id] || reactions[waIdOf(m.id)], {
        reply: () => { setReply(m); text.focus(); },
        react: (emoji) => attempt(() => POST(`${base}/messages/react`, { messageId: m.id, emoji }), 'Reaction sent'),
      }));
    }
    if (atBottom || !conv.dataset.loaded) conv.scrollTop = conv.scrollHeight;
    conv.dataset.loaded = '1';
    if (msgs.some((m) => !m.fromMe)) api('POST', `${base}/chats/${enc(chat)}/read`, {}).catch(() => {});
  };
  composer.addEventListener('submit', async (e) => {
    e.preventDefault();
    const f = file.files && file.files[0];
    const options = replyTo ? { quotedMessageId: replyTo.id } : undefined;
    if (f) {
      const kind = f.type.startsWith('image/') ? 'image' : f.type.startsWith('video/') ? 'video' : f.type.startsWith('audio/') ? 'audio' : 'document';
      const data = await readFileBase64(f);
      const body = { chatId: chat, [kind]: { base64: data, mimetype: f.type || 'application/octet-stream', filename: f.name } };
      if (text.value.trim() && kind !== 'audio') body.caption = text.value;
      const r = await attempt(() => POST(`${base}/messages/send-${kind}`, body));
      if (r) { file.value = ''; text.value = ''; setReply(null); }
    } else if (text.value.trim()) {
      const body = { chatId: chat, text: text.value };
      if (options) body.options = options;
      const r = await attempt(() => POST(`${base}/messages/send-text`, body));
      if (r) { text.value = ''; setReply(null); }
    }
    loadConversation().catch(() => {});
    loadChats().catch(() => {});
  });
  await loadChats();
  await loadConversation();
  const later = debounce(() => { loadChats().catch(() => {}); loadConversation().catch(() => {}); }, 250);
  onLive((ev) => { if (ev.sessionId === session && /^message\./.test(ev.event)) later(); });
  every(15000, later);
  if (chat) text.focus();
}

function waIdOf(id) { const i = String(id).lastIndexOf('_'); return i >= 0 ? id.slice(i + 1) : id; }

function preview(m) {
  if (!m) return '';
  if (m.body) return m.body;
  return `[${m.type}]`;
}

function ticks(m) {
  if (!m.fromMe) return null;
  const map = { pending: '🕓', sent: '✓', delivered: '✓✓', read: '✓✓', played: '✓✓', failed: '⚠' };
  return el('span', { class: 'ticks ' + m.status, title: m.status }, map[m.status] || '');
}

function messageBubble(m, byId, reactions, actions) {
  const parts = [];
  if (!m.fromMe && m.pushName) parts.push(el('div', { class: 'from' }, m.pushName));
  if (m.quotedMessageId) {
    const q = byId[m.quotedMessageId] || Object.values(byId).find((x) => waIdOf(x.id) === waIdOf(m.quotedMessageId));
    parts.push(el('div', { class: 'quote' }, q ? preview(q) : 'a quoted message'));
  }
  if (m.media && m.media.url) {
    if (m.type === 'image' || m.type === 'sticker') parts.push(el('img', { class: 'preview', src: m.media.url, alt: m.media.filename || m.type, loading: 'lazy' }));
    else if (m.type === 'video') parts.push(el('video', { class: 'preview', src: m.media.url, controls: true, preload: 'metadata', width: 240 }));
    else if (m.type === 'audio' || m.type === 'ptt') parts.push(el('audio', { src: m.media.url, controls: true, preload: 'none' }));
    else parts.push(el('a', { href: m.media.url, target: '_blank', rel: 'noopener' }, `📎 ${m.media.filename || m.media.mimetype}`));
  } else if (m.hasMedia) parts.push(el('div', { class: 'muted' }, `[${m.type}]`));
  if (m.location) {
    const l = m.location;
    parts.push(el('div', { class: 'location' }, `📍 ${l.name || 'Location'} ${l.latitude}, ${l.longitude}`, l.address ? el('div', { class: 'muted' }, l.address) : null));
  }
  for (const v of m.vcards || (m.vcard ? [m.vcard] : [])) parts.push(el('div', { class: 'vcard' }, `👤 ${v.displayName || 'Contact card'}`));
  if (m.body && !(m.type === 'location' || m.type === 'vcard')) parts.push(el('div', { class: 'body' }, m.body));
  if (reactions && reactions.length) parts.push(el('div', { class: 'reactions' }, reactions.filter(Boolean).join(' ')));
  parts.push(el('div', { class: 'meta' }, fmtTime(m.timestamp), ' ', ticks(m)));
  parts.push(el('div', { class: 'msg-actions' },
    el('button', { type: 'button', class: 'small reply', onclick: actions.reply }, 'Reply'),
    ...['👍', '❤️', '😂'].map((e) => el('button', { type: 'button', class: 'small react', onclick: () => actions.react(e) }, e))));
  return el('div', { class: 'msg ' + (m.fromMe ? 'out' : 'in'), dataset: { id: m.id, status: m.status } }, parts);
}

// ----------------------------------------------------------------- groups

async function viewGroups(main, [sid, gid]) {
  main.append(el('h1', {}, 'Groups'));
  const picker = await sessionPicker('groups-session', (v) => { location.hash = `#/groups/${enc(v)}`; }, sid);
  const session = picker.initial;
  main.append(el('div', { class: 'toolbar' }, picker.sel));
  if (!session) { main.append(el('p', { class: 'muted' }, 'Create and link a session first.')); return; }
  const base = `/api/sessions/${enc(session)}`;
  const name = el('input', { id: 'group-name', placeholder: 'Group name' });
  const members = el('input', { id: 'group-members', placeholder: 'Participants: 628…, 628…', size: 40 });
  main.append(el('div', { class: 'panel' }, el('h2', {}, 'Create a group'), el('div', { class: 'form-row' }, name, members,
    el('button', { id: 'group-create', class: 'primary', onclick: async () => {
      const g = await attempt(() => POST(`${base}/groups`, { name: name.value.trim(), participants: members.value.split(/[\s,;]+/).filter(Boolean) }), 'Group created');
      if (g) location.hash = `#/groups/${enc(session)}/${enc(g.id)}`;
    } }, 'Create'))));
  const tbody = el('tbody');
  main.append(el('div', { class: 'table-wrap' }, el('table', { id: 'groups-table' },
    el('thead', {}, el('tr', {}, ...['Name', 'Id', 'Members', ''].map((h) => el('th', {}, h)))), tbody)));
  const groups = await GET(`${base}/groups`).catch((e) => { toast(e.message, true); return []; });
  if (!groups.length) tbody.append(el('tr', {}, el('td', { colspan: 4, class: 'muted' }, 'No groups.')));
  for (const g of groups) tbody.append(el('tr', { dataset: { id: g.id } }, el('td', {}, g.name), el('td', { class: 'muted' }, g.id),
    el('td', {}, g.participantsCount), el('td', {}, el('a', { href: `#/groups/${enc(session)}/${enc(g.id)}` }, 'Open'))));
  if (gid) main.append(await groupDetail(base, session, gid));
}

async function groupDetail(base, session, gid) {
  const gb = `${base}/groups/${enc(gid)}`;
  const panel = el('div', { class: 'panel', id: 'group-detail' });
  const load = async () => {
    const g = await GET(gb);
    const add = el('input', { id: 'participant-add', placeholder: '628…' });
    const invite = el('p', { id: 'invite-link' });
    const change = (action, ids) => attempt(() => POST(`${gb}/participants/${action}`, { participants: ids }), `${action}: done`).then(() => load().catch(() => {}));
    clear(panel).append(el('h2', {}, g.name), g.description ? el('p', {}, g.description) : null,
      el('div', { class: 'form-row' }, add, el('button', { onclick: () => change('add', [add.value.trim()]) }, 'Add participant'),
        el('button', { onclick: async () => { const r = await attempt(() => GET(`${gb}/invite-link`)); if (r) invite.textContent = r.inviteLink; } }, 'Invite link'),
        el('button', { class: 'danger', onclick: async () => { if (await confirmDialog('Leave this group?')) { await attempt(() => POST(`${gb}/leave`), 'Left'); location.hash = `#/groups/${enc(session)}`; } } }, 'Leave')),
      invite,
      el('div', { class: 'table-wrap' }, el('table', {}, el('thead', {}, el('tr', {}, el('th', {}, 'Participant'), el('th', {}, 'Role'), el('th', {}, ''))),
        el('tbody', {}, ...g.participants.map((p) => el('tr', {}, el('td', {}, p.id), el('td', {}, p.isSuperAdmin ? 'owner' : p.isAdmin ? 'admin' : 'member'),
          el('td', { class: 'actions' },
            p.isAdmin ? el('button', { class: 'small', onclick: () => change('demote', [p.id]) }, 'Demote') : el('button', { class: 'small', onclick: () => change('promote', [p.id]) }, 'Promote'),
            el('button', { class: 'small danger', onclick: async () => { if (await confirmDialog(`Remove ${p.id}?`)) change('remove', [p.id]); } }, 'Remove'))))))));
  };
  await load().catch((e) => panel.append(el('p', { class: 'error-text' }, e.message)));
  return panel;
}

// --------------------------------------------------------- number checker

async function viewChecker(main) {
  main.append(el('h1', {}, 'Number checker'));
  const picker = await sessionPicker('checker-session', () => {});
  const input = el('textarea', { id: 'checker-input', placeholder: 'One phone number per line (international format)' });
  const file = el('input', { id: 'checker-file', type: 'file', accept: '.csv,.txt,text/csv,text/plain' });
  const tbody = el('tbody');
  const summary = el('p', { id: 'checker-summary', class: 'muted' });
  let results = [];
  const csv = el('button', { id: 'checker-csv', disabled: true, onclick: () => {
    download('number-check.csv', ['phone,exists,chatId', ...results.map((r) => [r.phone, r.exists, r.chatId || ''].map(csvCell).join(','))].join('\n') + '\n');
  } }, 'Download CSV');
  file.addEventListener('change', async () => {
    const t = await readFile(file);
    if (t !== null) input.value = parseCsv(t).map((r) => r[0]).filter((x) => /\d/.test(x)).join('\n');
  });
  const run = el('button', { id: 'checker-run', class: 'primary', onclick: async () => {
    const phones = input.value.split(/[\s,;]+/).map((x) => x.trim()).filter(Boolean);
    if (!phones.length) { toast('Paste some numbers first', true); return; }
    run.disabled = true;
    clear(tbody);
    results = [];
    try {
      for (let i = 0; i < phones.length; i += 50) {
        const r = await POST(`/api/sessions/${enc(picker.sel.value)}/contacts/check`, { phones: phones.slice(i, i + 50) });
        results.push(...r);
      }
      for (const r of results) tbody.append(el('tr', { dataset: { phone: r.phone } }, el('td', { class: 'phone' }, r.phone),
        el('td', { class: 'exists' }, el('span', { class: 'badge ' + (r.exists ? 'ok' : 'bad') }, r.exists ? 'on WhatsApp' : 'not on WhatsApp')),
        el('td', { class: 'chat-id' }, r.chatId || '')));
      summary.textContent = `${results.filter((r) => r.exists).length} of ${results.length} are on WhatsApp.`;
      csv.disabled = false;
    } catch (e) { toast(e.message, true); } finally { run.disabled = false; }
  } }, 'Check');
  main.append(el('div', { class: 'panel' }, el('div', { class: 'toolbar' }, picker.sel, file), input,
    el('div', { class: 'toolbar' }, run, csv)), summary,
  el('div', { class: 'table-wrap' }, el('table', { id: 'checker-results' },
    el('thead', {}, el('tr', {}, el('th', {}, 'Phone'), el('th', {}, 'WhatsApp'), el('th', {}, 'Chat id'))), tbody)));
}

// ------------------------------------------------------------------- bulk

async function viewBulk(main) {
  main.append(el('h1', {}, 'Bulk send'));
  const picker = await sessionPicker('bulk-session', () => {});
  const template = el('textarea', { id: 'bulk-template', placeholder: 'Hello {name}, your code is {code}' });
  const recipients = el('textarea', { id: 'bulk-recipients', placeholder: 'phone,name,code\n628111…,Ana,1234' });
  const file = el('input', { id: 'bulk-csv', type: 'file', accept: '.csv,text/csv' });
  const delay = el('input', { id: 'bulk-delay', type: 'number', min: 1, value: 3 });
  const progress = el('div', { class: 'progress' }, el('div'));
  const status = el('p', { id: 'bulk-status', class: 'muted' });
  let batch = null;
  file.addEventListener('change', async () => { const t = await readFile(file); if (t !== null) recipients.value = t; });
  const cancel = el('button', { id: 'bulk-cancel', class: 'danger', disabled: true, onclick: async () => {
    if (batch && await confirmDialog('Cancel the rest of this batch?')) { await attempt(() => POST(`/api/sessions/${enc(batch.session)}/messages/batch/${enc(batch.id)}/cancel`), 'Cancelled'); poll(); }
  } }, 'Cancel batch');
  const poll = async () => {
    if (!batch) return;
    const b = await GET(`/api/sessions/${enc(batch.session)}/messages/batch/${enc(batch.id)}`).catch(() => null);
    if (!b) return;
    const p = b.progress;
    const done = p.sent + p.failed + p.cancelled;
    progress.firstChild.style.width = `${p.total ? Math.round(100 * done / p.total) : 0}%`;
    status.textContent = `Batch ${b.batchId}: ${b.status}. ${p.sent} sent, ${p.failed} failed, ${p.pending} pending, ${p.cancelled} cancelled of ${p.total}.`;
    cancel.disabled = !['processing', 'queued'].includes(b.status) || p.pending === 0;
  };
  const start = el('button', { id: 'bulk-start', class: 'primary', onclick: async () => {
    const rows = parseCsv(recipients.value);
    if (!rows.length) { toast('Add recipients first', true); return; }
    let header = rows[0].map((h) => h.toLowerCase());
    let data = rows;
    if (header.some((h) => /[a-z]/.test(h))) data = rows.slice(1); else header = ['phone', ...rows[0].slice(1).map((_, i) => `col${i + 2}`)];
    const messages = data.filter((r) => r[0]).map((r) => {
      const vars = {};
      header.forEach((h, i) => { if (i > 0 && h) vars[h] = r[i] ?? ''; });
      return { chatId: r[0].replace(/[^0-9@.a-z]/gi, ''), type: 'text', content: { text: template.value }, variables: vars };
    });
    if (messages.length > 100) { toast('At most 100 recipients per batch', true); return; }
    const r = await attempt(() => POST(`/api/sessions/${enc(picker.sel.value)}/messages/send-bulk`, { messages, options: { delayBetweenMessages: Math.max(1, Number(delay.value || 3)) * 1000 } }));
    if (r) { batch = { id: r.batchId, session: picker.sel.value }; toast(`Batch ${r.batchId} started`); poll(); }
  } }, 'Start batch');
  main.append(el('div', { class: 'panel' }, el('div', { class: 'toolbar' }, picker.sel),
    el('label', { for: 'bulk-template' }, 'Message ({variables} come from the CSV columns)'), template,
    el('label', { for: 'bulk-recipients' }, 'Recipients (CSV: phone first, then variables; a header row names them)'), recipients,
    el('div', { class: 'toolbar' }, file, el('label', { class: 'inline' }, 'Delay (s)', delay), start, cancel)),
  el('div', { class: 'panel' }, el('h2', {}, 'Progress'), progress, status));
  onLive((ev) => { if (/^batch\./.test(ev.event)) poll(); });
  every(2000, poll);
}

// ---------------------------------------------------------- outbox workers

async function viewOutbox(main) {
  main.append(el('h1', {}, 'Outbox workers'));
  const tbody = el('tbody');
  const f = { name: el('input', { id: 'ow-name', placeholder: 'name' }), application: el('input', { id: 'ow-app', placeholder: 'application (or *)' }),
    circle: el('input', { id: 'ow-circle', placeholder: 'circle (optional)' }), interval: el('input', { id: 'ow-interval', type: 'number', min: 1, value: 10 }) };
  const load = async () => {
    const list = await GET('/api/outbox/workers');
    clear(tbody);
    if (!list.length) tbody.append(el('tr', {}, el('td', { colspan: 6, class: 'muted' }, 'No workers.')));
    for (const w of list) tbody.append(el('tr', { dataset: { id: w.id } }, el('td', {}, w.name), el('td', {}, w.application), el('td', {}, w.circle || '—'),
      el('td', {}, `${w.intervalSeconds}${w.intervalMaxSeconds ? '–' + w.intervalMaxSeconds : ''} s`),
      el('td', {}, el('span', { class: 'badge ' + (w.enabled ? 'ok' : '') }, w.enabled ? 'enabled' : 'paused')),
      el('td', { class: 'actions' },
        el('button', { class: 'small', onclick: async () => { await attempt(() => PATCH(`/api/outbox/workers/${w.id}`, { enabled: !w.enabled }), 'Saved'); load().catch(() => {}); } }, w.enabled ? 'Pause' : 'Enable'),
        el('button', { class: 'small danger', onclick: async () => { if (await confirmDialog(`Delete worker ${w.name}?`)) { await attempt(() => DEL(`/api/outbox/workers/${w.id}`), 'Deleted'); load().catch(() => {}); } } }, 'Delete'))));
  };
  main.append(el('div', { class: 'panel' }, el('h2', {}, 'New worker'), el('div', { class: 'form-row' }, f.name, f.application, f.circle, f.interval,
    el('button', { class: 'primary', onclick: async () => {
      const body = { name: f.name.value.trim(), application: f.application.value.trim(), intervalSeconds: Number(f.interval.value || 10) };
      if (f.circle.value.trim()) body.circle = f.circle.value.trim();
      await attempt(() => POST('/api/outbox/workers', body), 'Worker created'); load().catch(() => {});
    } }, 'Create'))),
  el('div', { class: 'table-wrap' }, el('table', { id: 'outbox-table' }, el('thead', {}, el('tr', {}, ...['Name', 'Application', 'Circle', 'Interval', 'State', ''].map((h) => el('th', {}, h)))), tbody)));
  await load();
}

// ------------------------------------------------------- tenants and keys

async function viewTenants(main) {
  main.append(el('h1', {}, 'Tenants and API keys'));
  const once = el('div', { id: 'key-once' });
  const showKey = (key, who) => {
    clear(once).append(el('div', { class: 'key-once' }, el('strong', {}, `New API key for ${who} (shown once, copy it now): `), el('code', { id: 'new-key' }, key)));
  };
  const name = el('input', { id: 'tenant-name', placeholder: 'Tenant name' });
  const list = el('div', { id: 'tenant-list' });
  const load = async () => {
    const tenants = await GET('/api/tenants');
    clear(list);
    for (const t of tenants) {
      const keys = await GET(`/api/tenants/${enc(t.id)}/keys`).catch(() => []);
      list.append(el('div', { class: 'panel tenant', dataset: { id: t.id } },
        el('div', { class: 'toolbar' }, el('strong', {}, t.name), el('span', { class: 'muted' }, t.id), el('span', { class: 'spacer' }),
          el('button', { class: 'small', onclick: async () => { const k = await attempt(() => POST(`/api/tenants/${enc(t.id)}/keys`, { name: 'dashboard' })); if (k) { showKey(k.apiKey, t.name); load().catch(() => {}); } } }, 'New key'),
          t.id === me.tenantId ? null : el('button', { class: 'small danger', onclick: async () => { if (await confirmDialog(`Delete tenant ${t.name} and its keys?`)) { await attempt(() => DEL(`/api/tenants/${enc(t.id)}`), 'Deleted'); load().catch(() => {}); } } }, 'Delete')),
        keys.length ? el('table', {}, el('tbody', {}, ...keys.map((k) => el('tr', {}, el('td', {}, k.name || '—'), el('td', { class: 'muted' }, k.id), el('td', {}, fmtTime(k.createdAt)),
          el('td', {}, el('button', { class: 'small danger', onclick: async () => { if (await confirmDialog(`Revoke key ${k.id}?`)) { await attempt(() => DEL(`/api/tenants/${enc(t.id)}/keys/${enc(k.id)}`), 'Revoked'); load().catch(() => {}); } } }, 'Revoke'))))))
          : el('p', { class: 'muted' }, 'No keys.')));
    }
  };
  main.append(el('div', { class: 'panel' }, el('div', { class: 'form-row' }, name, el('button', { id: 'tenant-create', class: 'primary', onclick: async () => {
    const r = await attempt(() => POST('/api/tenants', { name: name.value.trim() }), 'Tenant created');
    if (r) { showKey(r.apiKey, r.tenant.name); load().catch(() => {}); }
  } }, 'Create tenant')), once), list);
  await load();
}

// ---------------------------------------------------------- event monitor

async function viewEvents(main) {
  main.append(el('h1', {}, 'Event monitor'));
  const session = el('input', { id: 'ev-session', placeholder: 'session id (all)' });
  const names = el('input', { id: 'ev-names', placeholder: 'events, e.g. message.*,session.status' });
  const from = el('input', { id: 'ev-from', type: 'number', min: 0, placeholder: 'resume after seq' });
  const log = el('ul', { id: 'event-log' });
  const state = el('span', { id: 'ev-state', class: 'muted' });
  let es = null;
  const connect = () => {
    if (es) es.close();
    clear(log);
    const q = new URLSearchParams();
    if (names.value.trim()) q.set('events', names.value.trim());
    if (from.value !== '') q.set('lastEventId', from.value);
    const path = session.value.trim() ? `/api/sessions/${enc(session.value.trim())}/events` : '/api/events';
    es = new EventSource(`${path}?${q}`);
    state.textContent = 'connecting…';
    es.onopen = () => { state.textContent = 'live'; };
    es.onerror = () => { state.textContent = 'reconnecting…'; };
    es.onmessage = (m) => {
      let ev; try { ev = JSON.parse(m.data); } catch (_) { return; }
      log.prepend(el('li', { dataset: { seq: ev.seq } }, el('span', { class: 'muted' }, `#${ev.seq} ${fmtTime(ev.timestamp)} `),
        el('span', { class: 'ev-name' }, ev.event), ` ${ev.sessionId} `, el('div', {}, JSON.stringify(ev.data))));
      while (log.childNodes.length > 500) log.lastChild.remove();
    };
  };
  screenCleanups.push(() => { if (es) es.close(); });
  main.append(el('div', { class: 'toolbar' }, session, names, from, el('button', { id: 'ev-connect', class: 'primary', onclick: connect }, 'Follow'), state), log);
  connect();
}

const VIEWS = {
  overview: viewOverview,
  sessions: viewSessions,
  session: viewSession,
  messages: viewMessages,
  groups: viewGroups,
  checker: viewChecker,
  bulk: viewBulk,
  outbox: viewOutbox,
  tenants: viewTenants,
  events: viewEvents,
  warming: (main, args) => viewWarming(main, args, {
    el, clear, GET, POST, PUT, DEL, attempt, toast, onLive, every, statusBadge, confirmDialog, fmtTime, enc, allSessions,
  }),
};

boot();
