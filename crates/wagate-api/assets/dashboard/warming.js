// wagate dashboard: the Warming screen (rooms of the tenant's numbers that
// talk to each other before real traffic). A client of /api/warming only.
//
// app.js passes its helpers in (`ui`), so this module imports nothing and
// renders every API string with textContent, like the rest of the page.

/** `#/warming`: the rooms, and a form for a new one. */
export async function viewWarming(main, args, ui) {
  if (args[0]) return viewRoom(main, args[0], ui);
  const { el, clear, GET, POST, attempt, onLive, statusBadge, allSessions, fmtTime, enc } = ui;
  main.append(el('h1', {}, 'Warming'));
  const sessions = await allSessions();
  const pick = (id) => {
    const sel = el('select', { id });
    for (const s of sessions) sel.append(el('option', { value: s.id }, `${s.name}${s.phoneNumber ? ' (+' + s.phoneNumber + ')' : ''}`));
    return sel;
  };
  const name = el('input', { id: 'room-name', placeholder: 'Room name', required: true });
  const a = pick('room-a');
  const b = pick('room-b');
  if (sessions[1]) b.value = sessions[1].id;
  const min = el('input', { id: 'room-min', type: 'number', min: 1, value: 30, title: 'seconds between lines, at least' });
  const max = el('input', { id: 'room-max', type: 'number', min: 1, value: 120, title: 'seconds between lines, at most' });
  const form = el('form', { class: 'form-row', id: 'room-form' }, name, a, b,
    el('label', {}, 'every ', min, '–', max, ' s'),
    el('button', { type: 'submit', class: 'primary', id: 'room-create' }, 'New room'));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const body = {
      name: name.value.trim(),
      actors: [
        { id: 'A', name: sessions.find((s) => s.id === a.value)?.name || 'A', sessionId: a.value },
        { id: 'B', name: sessions.find((s) => s.id === b.value)?.name || 'B', sessionId: b.value },
      ],
      settings: { intervalMinSecs: Number(min.value), intervalMaxSecs: Number(max.value) },
    };
    const room = await attempt(() => POST('/api/warming/rooms', body), 'Room created');
    if (room) location.hash = `#/warming/${enc(room.id)}`;
  });
  const rows = el('tbody');
  main.append(form, el('div', { class: 'table-wrap' }, el('table', { id: 'rooms-table' },
    el('thead', {}, el('tr', {}, ...['Name', 'Mode', 'Status', 'Progress', 'Next line'].map((x) => el('th', {}, x)))), rows)));
  const load = async () => {
    const rooms = await GET('/api/warming/rooms');
    clear(rows);
    if (!rooms.length) rows.append(el('tr', {}, el('td', { colspan: 5, class: 'muted' }, 'No rooms yet.')));
    for (const r of rooms) {
      rows.append(el('tr', { class: 'room-row', dataset: { id: r.id, status: r.status } },
        el('td', {}, el('a', { href: `#/warming/${enc(r.id)}` }, r.name)), el('td', {}, r.mode),
        el('td', { class: 'status' }, statusBadge(r.status)),
        el('td', {}, `${r.progress.position}/${r.progress.total}${r.progress.round ? ` (round ${r.progress.round + 1})` : ''}`),
        el('td', {}, r.nextAt ? fmtTime(r.nextAt) : '—')));
    }
  };
  await load();
  onLive((ev) => { if (String(ev.event).startsWith('warming.')) load().catch(() => {}); });
}

/** `#/warming/{room}`: controls, the line editor, ramp-up, preview, live feed. */
async function viewRoom(main, roomId, ui) {
  const { el, clear, GET, POST, PUT, DEL, attempt, onLive, every, statusBadge, confirmDialog, fmtTime, enc, toast } = ui;
  const base = `/api/warming/rooms/${enc(roomId)}`;
  main.append(el('div', { class: 'toolbar' }, el('a', { href: '#/warming' }, '← Rooms')));
  const head = el('div', { class: 'panel', id: 'room-head' });
  const linesPanel = el('div', { class: 'panel', id: 'room-lines' });
  const rampPanel = el('div', { class: 'panel', id: 'room-ramp' });
  const previewPanel = el('div', { class: 'panel', id: 'room-preview' });
  const feedPanel = el('div', { class: 'panel', id: 'room-feed' });
  main.append(head, el('div', { class: 'grid2' }, linesPanel, el('div', {}, rampPanel, previewPanel)), feedPanel);
  let room = null;

  const act = (verb) => async () => {
    if (verb === 'stop' && !(await confirmDialog('Stop this room for good?'))) return;
    await attempt(() => POST(`${base}/${verb}`), `Room ${verb}`);
    loadRoom().catch(() => {});
  };
  const loadRoom = async () => {
    room = await GET(base);
    const s = room.status;
    const can = { start: s === 'DRAFT', pause: s === 'RUNNING', resume: s === 'PAUSED', stop: s === 'RUNNING' || s === 'PAUSED' };
    clear(head).append(el('h1', {}, room.name),
      el('div', { class: 'toolbar' }, statusBadge(s), el('span', { id: 'room-progress' }, `line ${room.progress.position} of ${room.progress.total}`),
        room.pauseReason ? el('span', { class: 'error-text', id: 'room-pause-reason' }, room.pauseReason) : null,
        el('span', { class: 'spacer' }),
        ...['start', 'pause', 'resume', 'stop'].map((v) => el('button', { id: `room-${v}`, class: v === 'start' ? 'primary' : v === 'stop' ? 'danger' : '', disabled: !can[v], onclick: act(v) }, v[0].toUpperCase() + v.slice(1))),
        el('button', { id: 'room-delete', class: 'danger', onclick: async () => {
          if (await confirmDialog(`Delete room ${room.name}?`)) { await attempt(() => DEL(base), 'Deleted'); location.hash = '#/warming'; }
        } }, 'Delete')),
      el('table', {}, el('tbody', {}, ...room.actors.map((a) => el('tr', {},
        el('th', {}, `${a.id}: ${a.name || ''}`),
        el('td', {}, a.sessionId ? `session ${a.sessionId}` : `person +${a.phone || ''}`),
        el('td', {}, a.health ? `${a.health.daysWarmed} day${a.health.daysWarmed === 1 ? '' : 's'} warmed, ${a.health.messagesSent} sent, ${a.health.messagesReceived} received` : ''))))));
    renderRamp();
  };

  const renderRamp = () => {
    const plan = room.settings.rampUp;
    const field = (id, label, value) => el('label', {}, label, ' ', el('input', { id, type: 'number', min: 0, value: value ?? '' }));
    clear(rampPanel).append(el('h2', {}, 'Ramp-up plan'),
      el('p', { class: 'muted' }, plan ? `Day 1: ${plan.start} messages per number, +${plan.step} a day, up to ${plan.max}.` : 'No daily budget: the room sends at its interval.'),
      el('div', { class: 'form-row' }, field('ramp-start', 'start', plan?.start), field('ramp-step', '+/day', plan?.step), field('ramp-max', 'max', plan?.max),
        el('button', { id: 'ramp-save', onclick: async () => {
          const v = (id) => document.getElementById(id).value;
          const rampUp = v('ramp-start') === '' ? null : { start: Number(v('ramp-start')), step: Number(v('ramp-step') || 0), max: Number(v('ramp-max') || v('ramp-start')) };
          const settings = { ...room.settings, rampUp, ai: { ...room.settings.ai } };
          delete settings.ai.hasApiKey; // write-only key: left out, the stored one stays
          await attempt(() => PUT(base, { settings }), 'Plan saved');
          loadRoom().catch(() => {});
        } }, 'Save plan')));
  };

  const loadLines = async () => {
    const lines = await GET(`${base}/lines`);
    const list = el('ol', { id: 'line-list' });
    const actors = room.actors.map((a) => a.id);
    const save = async (ids) => { await attempt(() => PUT(`${base}/lines/order`, { order: ids }), 'Order saved'); loadLines().catch(() => {}); };
    const ids = lines.map((l) => l.id);
    let dragged = null;
    lines.forEach((l, i) => {
      const text = el('input', { class: 'line-text', value: l.text });
      const who = el('select', { class: 'line-actor' }, ...actors.map((a) => el('option', { value: a }, a)));
      who.value = l.actor;
      const move = (d) => { const j = i + d; if (j < 0 || j >= ids.length) return; const next = ids.slice(); [next[i], next[j]] = [next[j], next[i]]; save(next); };
      const item = el('li', { class: 'line', draggable: 'true', dataset: { id: l.id } }, who, text,
        el('button', { class: 'small line-up', title: 'Move up', onclick: () => move(-1) }, '↑'),
        el('button', { class: 'small line-down', title: 'Move down', onclick: () => move(1) }, '↓'),
        el('button', { class: 'small line-save', onclick: async () => { await attempt(() => PUT(`${base}/lines/${enc(l.id)}`, { actor: who.value, text: text.value }), 'Line saved'); } }, 'Save'),
        el('button', { class: 'small danger line-delete', onclick: async () => { await attempt(() => DEL(`${base}/lines/${enc(l.id)}`), 'Line deleted'); loadLines().catch(() => {}); } }, '×'));
      item.addEventListener('dragstart', (e) => { dragged = l.id; e.dataTransfer.effectAllowed = 'move'; });
      item.addEventListener('dragover', (e) => e.preventDefault());
      item.addEventListener('drop', (e) => {
        e.preventDefault();
        if (!dragged || dragged === l.id) return;
        const next = ids.filter((x) => x !== dragged);
        next.splice(next.indexOf(l.id) + (ids.indexOf(dragged) < i ? 1 : 0), 0, dragged);
        save(next);
      });
      list.append(item);
    });
    const who = el('select', { id: 'new-line-actor' }, ...actors.map((a) => el('option', { value: a }, a)));
    const text = el('input', { id: 'new-line-text', placeholder: '{Hi|Hello} {OTHER_NAME}, {TIME_GREETING}!' });
    clear(linesPanel).append(el('h2', {}, 'Script'),
      el('p', { class: 'muted' }, 'Drag a line (or use ↑ ↓) to reorder. Spintax {a|b} and {TIME_GREETING}, {DAY_NAME}, {DATE}, {OTHER_NAME}.'),
      list,
      el('div', { class: 'form-row' }, who, text, el('button', { id: 'new-line-add', onclick: async () => {
        if (!text.value.trim()) return;
        await attempt(() => POST(`${base}/lines`, { actor: who.value, text: text.value }), 'Line added');
        loadLines().catch(() => {});
      } }, 'Add line')));
  };

  clear(previewPanel).append(el('h2', {}, 'Dry-run preview'),
    el('button', { id: 'room-preview-run', onclick: async () => {
      const p = await attempt(() => POST(`${base}/preview`, {}));
      if (!p) return;
      const out = el('ol', { id: 'preview-list' }, ...(p.messages || p).map((m) => el('li', {}, el('strong', {}, `${m.actor}: `), m.text)));
      clear(previewPanel).append(el('h2', {}, 'Dry-run preview'), out, el('p', { class: 'muted' }, 'Nothing was sent.'));
    } }, 'Render the conversation'));

  const loadFeed = async () => {
    const msgs = await GET(`${base}/messages`);
    const rows = el('tbody');
    for (const m of msgs.slice().reverse()) {
      rows.append(el('tr', { class: 'feed-row', dataset: { status: m.status } },
        el('td', {}, fmtTime(m.updatedAt)), el('td', {}, m.actor), el('td', {}, m.text),
        el('td', {}, m.status), el('td', { class: 'error-text' }, m.error || '')));
    }
    if (!msgs.length) rows.append(el('tr', {}, el('td', { colspan: 5, class: 'muted' }, 'Nothing sent yet.')));
    clear(feedPanel).append(el('h2', {}, 'Live feed'), el('div', { class: 'table-wrap' }, el('table', { id: 'room-feed-table' },
      el('thead', {}, el('tr', {}, ...['Time', 'Actor', 'Text', 'Status', 'Error'].map((x) => el('th', {}, x)))), rows)));
  };

  try {
    await loadRoom();
  } catch (e) {
    toast(e.message, true);
    return;
  }
  await Promise.all([loadLines(), loadFeed()].map((p) => p.catch((e) => toast(e.message, true))));
  onLive((ev) => {
    if (String(ev.event).startsWith('warming.') && ev.data && ev.data.roomId === roomId) {
      loadRoom().catch(() => {});
      loadFeed().catch(() => {});
    }
  });
  every(10000, () => loadFeed().catch(() => {}));
}
