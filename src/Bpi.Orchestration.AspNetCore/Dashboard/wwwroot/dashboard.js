// Bpi.Orchestration dashboard: plain JavaScript, no build step. Reads the API the page was served with
// (<meta name="bpi-api">), follows the server-sent event streams with fetch (so the access token goes in the
// Authorization header, which EventSource cannot send), and renders with textContent only.
(() => {
  'use strict';
  const api = document.querySelector('meta[name="bpi-api"]').content;
  const $ = (id) => document.getElementById(id);
  let token = sessionStorage.getItem('bpi-token') || '';
  let selected = null;
  let detailStream = null;
  let listTimer = null;

  // A token in the fragment (#token=…) is taken once and removed from the address bar.
  const fragment = new URLSearchParams(location.hash.slice(1));
  if (fragment.get('token')) {
    token = fragment.get('token');
    sessionStorage.setItem('bpi-token', token);
    history.replaceState(null, '', location.pathname + location.search);
  }

  const headers = (json) => {
    const h = { Accept: 'application/json' };
    if (token) h.Authorization = 'Bearer ' + token;
    if (json) h['Content-Type'] = 'application/json';
    return h;
  };

  function say(text, isError) {
    const m = $('message');
    m.textContent = text;
    m.className = isError ? 'error' : '';
  }

  async function problemText(response) {
    try {
      const p = await response.json();
      return `${response.status} ${p.title || ''}${p.errors && p.errors.length ? ': ' + p.errors.join(' ') : (p.detail ? ': ' + p.detail : '')}`;
    } catch {
      return `${response.status} ${response.statusText}`;
    }
  }

  async function call(method, path, body) {
    const response = await fetch(api + path, { method, headers: headers(body !== undefined), body: body === undefined ? undefined : JSON.stringify(body) });
    if (!response.ok) throw new Error(await problemText(response));
    return response.status === 204 ? null : response.json();
  }

  function cell(row, text, className) {
    const td = row.insertCell();
    td.textContent = text == null ? '' : String(text);
    if (className) td.className = className;
    return td;
  }

  async function loadList() {
    try {
      const list = await call('GET', '/orchestration/deployments');
      const body = $('deployments').tBodies[0];
      body.replaceChildren();
      for (const d of list.deployments) {
        const row = body.insertRow();
        row.dataset.id = d.id;
        row.dataset.state = d.state;
        if (d.id === selected) row.classList.add('selected');
        cell(row, d.name);
        cell(row, d.environment);
        cell(row, d.state, 'state').dataset.state = d.state;
        cell(row, d.strategy);
        cell(row, d.target_revision != null && d.target_revision !== d.stable_revision ? `r${d.stable_revision ?? '-'} → r${d.target_revision}` : `r${d.stable_revision ?? '-'}`);
        cell(row, d.progress + ' %');
        row.addEventListener('click', () => select(d.id));
      }
      $('totals').textContent = Object.entries(list.totals_by_state || {}).filter(([, n]) => n > 0).map(([s, n]) => `${s} ${n}`).join(' · ');
      if (!selected && list.deployments.length === 1) select(list.deployments[0].id);
    } catch (e) {
      say('Deployments: ' + e.message, true);
    }
  }

  function scheduleList() {
    clearTimeout(listTimer);
    listTimer = setTimeout(loadList, 250);
  }

  async function verifyAudit() {
    const box = $('audit');
    try {
      const v = await call('GET', '/audit/verify');
      box.dataset.valid = String(v.valid);
      showAudit(v.valid
        ? `verified (${v.entries_verified} entries, ${v.checkpoints_verified} checkpoints${v.signatures_checked ? ', signatures checked' : ''})`
        : `BROKEN: ${v.message}`);
    } catch (e) {
      box.dataset.valid = 'unknown';
      showAudit(e.message);
    }
  }

  // The status line may be cut to fit the header: the whole text is its tooltip.
  function showAudit(text) {
    const status = $('audit-status');
    status.textContent = text;
    status.title = text;
  }

  function renderDetail(s) {
    $('detail').hidden = false;
    $('detail-name').textContent = s.name;
    $('detail-id').textContent = s.id;
    const state = $('detail-state');
    state.textContent = s.state;
    state.dataset.state = s.state;
    $('detail-strategy').textContent = s.strategy;
    $('detail-stable').textContent = s.stable_revision ?? '-';
    $('detail-target').textContent = s.target_revision ?? '-';
    $('detail-progress').style.width = s.progress + '%';
    $('detail-step').textContent = s.current_step || '—';
    // A rollout waiting at an approval gate names it in its step ("… approval of gate 'qa' …"): offer that gate.
    const gate = /gate '([^']+)'/.exec(s.current_step || '');
    if (gate && !$('gate').value) $('gate').value = gate[1];
    $('detail-message').textContent = s.message || '';
    const components = $('components');
    components.replaceChildren();
    for (const c of s.components) {
      const title = document.createElement('h3');
      title.textContent = `${c.id}: ${c.desired_replicas} desired` + (c.weights_approximated ? ' (weights approximated by replicas)' : '');
      const table = document.createElement('table');
      table.className = 'weights';
      table.dataset.component = c.id;
      const head = table.createTHead().insertRow();
      for (const h of ['Revision', 'Instances', 'Traffic', '']) cell(head, h);
      const revisions = new Set([...Object.keys(c.traffic_weights).map(Number), ...c.instances.map((i) => i.revision)]);
      for (const r of [...revisions].sort((a, b) => a - b)) {
        const weight = c.traffic_weights[String(r)] ?? 0;
        const instances = c.instances.find((i) => i.revision === r);
        const row = table.insertRow();
        row.dataset.revision = String(r);
        row.dataset.weight = String(weight);
        cell(row, 'r' + r);
        cell(row, instances ? `${instances.running}/${instances.total} running` : '0');
        cell(row, weight + ' %', 'weight');
        const bar = document.createElement('div');
        bar.className = 'weight-bar';
        bar.style.width = weight + '%';
        cell(row, '', 'bar').append(bar);
      }
      components.append(title, table);
    }
    const row = document.querySelector(`#deployments tr[data-id="${CSS.escape(s.id)}"]`);
    if (row && row.dataset.state !== s.state) scheduleList();
  }

  function addEvent(name, data) {
    const item = document.createElement('li');
    const when = data.timestamp ? new Date(data.timestamp).toLocaleTimeString() : '';
    item.textContent = `${when} ${name}${data.state ? ' → ' + data.state : ''}${data.message ? ': ' + data.message : ''}`;
    const list = $('events');
    list.prepend(item);
    while (list.children.length > 50) list.lastChild.remove();
  }

  // Reads a text/event-stream response: calls onEvent(name, data) for each event; resolves when the stream ends.
  async function follow(path, signal, onEvent) {
    const response = await fetch(api + path, { headers: { ...headers(false), Accept: 'text/event-stream' }, signal });
    if (!response.ok) throw new Error(await problemText(response));
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += value;
      let end;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        let name = 'message';
        const data = [];
        for (const line of block.split('\n')) {
          if (line.startsWith('event: ')) name = line.slice(7);
          else if (line.startsWith('data: ')) data.push(line.slice(6));
        }
        if (data.length) onEvent(name, JSON.parse(data.join('\n')));
      }
    }
  }

  // Follows a stream for as long as the page wants it, reconnecting after a pause when it ends or fails.
  function keepFollowing(path, onEvent, onError) {
    const control = new AbortController();
    (async () => {
      while (!control.signal.aborted) {
        try {
          await follow(path, control.signal, onEvent);
        } catch (e) {
          if (control.signal.aborted) return;
          onError(e);
        }
        await new Promise((resolve) => setTimeout(resolve, 2000));
      }
    })();
    return control;
  }

  function select(id) {
    if (selected === id) return;
    selected = id;
    for (const row of document.querySelectorAll('#deployments tbody tr')) row.classList.toggle('selected', row.dataset.id === id);
    $('events').replaceChildren();
    if (detailStream) detailStream.abort();
    detailStream = keepFollowing(
      `/orchestration/deployment/${encodeURIComponent(id)}/events`,
      (name, data) => (name === 'status' ? renderDetail(data) : addEvent(name, data)),
      (e) => say('Deployment stream: ' + e.message, true));
  }

  async function act(path, body) {
    if (!selected) return;
    try {
      const accepted = await call('POST', `/orchestration/deployment/${encodeURIComponent(selected)}${path}`, body);
      say(`${path.split('/').pop()}: accepted (${accepted.state})`);
    } catch (e) {
      say(e.message, true);
    }
  }

  for (const button of document.querySelectorAll('[data-action]')) {
    button.addEventListener('click', () => act('/' + button.dataset.action));
  }
  for (const button of document.querySelectorAll('[data-decision]')) {
    button.addEventListener('click', () => {
      const gate = $('gate').value.trim();
      if (!gate) { say('Name the approval gate first.', true); return; }
      act(`/approvals/${encodeURIComponent(gate)}/${button.dataset.decision}`, {});
    });
  }
  $('audit-verify').addEventListener('click', verifyAudit);
  $('token-form').addEventListener('submit', (e) => {
    e.preventDefault();
    token = $('token').value.trim();
    sessionStorage.setItem('bpi-token', token);
    $('token').value = '';
    start();
  });

  let allStream = null;
  function start() {
    say('');
    if (allStream) allStream.abort();
    allStream = keepFollowing('/orchestration/events', () => scheduleList(), (e) => say('Event stream: ' + e.message, true));
    loadList();
    verifyAudit();
    if (selected) { const id = selected; selected = null; select(id); }
  }

  start();
})();
