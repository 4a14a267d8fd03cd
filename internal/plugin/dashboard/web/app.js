// The dashboard page: renders the server's snapshots (Server-Sent Events
// on api/events, relative to the page) and posts the buttons' actions. No framework, nothing
// loaded from elsewhere; every value from the cluster is set as text.
'use strict';

(function () {
  const token = document.querySelector('meta[name="switchyard-token"]').content;
  // Set once per page load: a test (or a curious person) can tell that the
  // page updated itself rather than being reloaded.
  window.dashboardPageId = String(Date.now()) + '-' + String(Math.random()).slice(2);

  const main = document.getElementById('rollouts');
  const empty = document.getElementById('empty');
  const errorsBox = document.getElementById('errors');
  const announcer = document.getElementById('announcer');
  const connection = document.getElementById('connection');
  const filterBox = document.getElementById('filter');
  const filterSelect = document.getElementById('namespace-filter');

  const actions = [
    { id: 'promote', label: 'Promote', verb: 'Promote',
      text: 'Resume the rollout: it leaves its pause, or goes on to its next step.' },
    { id: 'promote-full', label: 'Promote full', verb: 'Promote fully',
      text: 'Skip every remaining step, pause and analysis: the new version takes all the traffic.' },
    { id: 'abort', label: 'Abort', verb: 'Abort', danger: true,
      text: 'Stop the update and go back to the stable pods. The rollout stays Degraded until it is retried.' },
    { id: 'retry', label: 'Retry', verb: 'Retry',
      text: 'Start the aborted update again, from its first step.' },
    { id: 'restart', label: 'Restart', verb: 'Restart', danger: true,
      text: 'Replace every pod of the rollout, a few at a time.' },
    { id: 'set-image', label: 'Set image', verb: 'Set image',
      text: 'Change the image of a container: this starts a new revision.' },
  ];

  // key (namespace/name) -> { section, details, last (JSON of the rollout) }
  const cards = new Map();
  const phases = new Map();
  let snapshot = null;
  let streamErrors = [];
  let actionError = '';
  let disconnected = false;

  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k === 'class') e.className = v;
      else if (k === 'text') e.textContent = v;
      else e.setAttribute(k, v === true ? '' : v);
    }
    for (const c of children) {
      if (c === null || c === undefined) continue;
      e.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return e;
  }

  function announce(msg) {
    // Clear first so the same message twice is read twice.
    announcer.textContent = '';
    window.setTimeout(() => { announcer.textContent = msg; }, 50);
  }

  function renderErrors() {
    errorsBox.replaceChildren();
    const all = [];
    if (disconnected) all.push('Lost the connection to the dashboard server (is `kubectl argo rollouts dashboard` still running?); retrying.');
    all.push(...streamErrors);
    if (all.length > 0) {
      errorsBox.append(el('p', { text: 'The API server refused or failed a request:' }));
      errorsBox.append(el('ul', null, ...all.map((m) => el('li', { text: m }))));
    }
    if (actionError) {
      const dismiss = el('button', { type: 'button', text: 'Dismiss' });
      dismiss.addEventListener('click', () => { actionError = ''; renderErrors(); });
      errorsBox.append(el('p', { 'data-field': 'action-error', text: actionError }), dismiss);
    }
    errorsBox.hidden = all.length === 0 && !actionError;
  }

  function field(dl, label, name, value, cls) {
    dl.append(el('dt', { text: label }), el('dd', { 'data-field': name, class: cls, text: value }));
  }

  function roleBadges(roles) {
    return (roles || []).map((r) => el('span', { class: 'role role-' + r, text: r }));
  }

  function podClass(status) {
    if (status === 'Running' || status === 'Completed') return 'pod-ok';
    if (/Err|BackOff|Failed|Invalid/.test(status)) return 'pod-bad';
    return '';
  }

  function details(ro) {
    const box = el('div', { class: 'details' });
    if (ro.Error) {
      box.append(el('p', { class: 'errors', text: 'Cannot read this Rollout: ' + ro.Error }));
      return box;
    }
    const dl = el('dl', { class: 'summary' });
    field(dl, 'Status', 'phase', ro.Phase || 'Unknown', 'phase phase-' + (ro.Phase || 'Unknown'));
    field(dl, 'Strategy', 'strategy', ro.Strategy || '—');
    if (ro.Strategy === 'Canary') {
      field(dl, 'Step', 'step', ro.Step || '—');
      field(dl, 'Set weight', 'setWeight', ro.SetWeight);
      field(dl, 'Actual weight', 'actualWeight', ro.ActualWeight);
    }
    field(dl, 'Revision', 'revision', ro.Revision || '—');
    field(dl, 'Replicas', 'replicas',
      `${ro.Desired} desired, ${ro.Current} current, ${ro.Updated} updated, ${ro.Ready} ready, ${ro.Available} available`);
    if (ro.Message) field(dl, 'Message', 'message', ro.Message);
    box.append(dl);

    if ((ro.Images || []).length > 0) {
      box.append(el('h3', { class: 'visually-hidden', text: 'Images' }));
      box.append(el('ul', { class: 'images', 'aria-label': 'Images' },
        ...ro.Images.map((img) => el('li', null, el('code', { text: img.Name }), ...roleBadges(img.Roles)))));
    }

    const table = el('table', { class: 'replicasets' },
      el('caption', { text: 'Revisions and ReplicaSets' }),
      el('thead', null, el('tr', null,
        ...['Revision', 'ReplicaSet', 'Status', 'Replicas', 'Images', 'Pods'].map((h) => el('th', { scope: 'col', text: h })))));
    const body = el('tbody');
    for (const rs of ro.ReplicaSets || []) {
      const pods = el('ul', { class: 'pods' }, ...(rs.Pods || []).map((p) =>
        el('li', null, el('span', { text: p.Name + ' ' }),
          el('span', { class: podClass(p.Status), text: p.Status }),
          ` ${p.Ready} ready` + (p.Restarts > 0 ? `, ${p.Restarts} restarts` : ''))));
      body.append(el('tr', { 'data-replicaset': rs.Name },
        el('td', { text: '#' + rs.Revision }),
        el('td', null, el('span', { text: rs.Name }), ...roleBadges(rs.Roles)),
        el('td', { text: rs.Status }),
        el('td', { text: String(rs.Replicas) }),
        el('td', null, ...(rs.Images || []).map((i) => el('div', null, el('code', { text: i })))),
        el('td', null, (rs.Pods || []).length > 0 ? pods : '—')));
    }
    if ((ro.ReplicaSets || []).length === 0) {
      body.append(el('tr', null, el('td', { colspan: '6', text: 'No ReplicaSets yet.' })));
    }
    table.append(body);
    box.append(table);

    if ((ro.AnalysisRuns || []).length > 0) box.append(runsTable(ro.AnalysisRuns, 'Analysis runs'));
    if ((ro.Experiments || []).length > 0) box.append(experimentsTable(ro.Experiments));
    return box;
  }

  function revision(n) {
    return n > 0 ? '#' + n : '—';
  }

  function runClass(status) {
    if (status === 'Successful') return 'pod-ok';
    if (status === 'Failed' || status === 'Error') return 'pod-bad';
    return '';
  }

  // measurements says how a run's measurements came out, leaving out the
  // kinds it has none of.
  function measurements(run) {
    const parts = [['successful', run.Successful], ['failed', run.Failed],
      ['inconclusive', run.Inconclusive], ['error', run.Error]]
      .filter(([, n]) => n > 0).map(([word, n]) => `${n} ${word}`);
    return parts.length > 0 ? parts.join(', ') : 'none yet';
  }

  function runsTable(runs, caption) {
    const table = el('table', { class: 'analysisruns' },
      el('caption', { text: caption }),
      el('thead', null, el('tr', null,
        ...['Revision', 'AnalysisRun', 'Status', 'Measurements'].map((h) => el('th', { scope: 'col', text: h })))));
    const body = el('tbody');
    for (const run of runs) {
      body.append(el('tr', { 'data-analysisrun': run.Name },
        el('td', { text: revision(run.Revision) }),
        el('td', { text: run.Name }),
        el('td', { class: runClass(run.Status), text: run.Status || 'Pending' }),
        el('td', { text: measurements(run) })));
    }
    table.append(body);
    return table;
  }

  function experimentsTable(experiments) {
    const table = el('table', { class: 'experiments' },
      el('caption', { text: 'Experiments' }),
      el('thead', null, el('tr', null,
        ...['Revision', 'Experiment', 'Status', 'Message', 'Analysis runs'].map((h) => el('th', { scope: 'col', text: h })))));
    const body = el('tbody');
    for (const ex of experiments) {
      const runs = el('ul', { class: 'pods' }, ...(ex.Runs || []).map((run) =>
        el('li', null, el('span', { text: run.Name + ' ' }), el('span', { class: runClass(run.Status), text: run.Status || 'Pending' }))));
      body.append(el('tr', { 'data-experiment': ex.Name },
        el('td', { text: revision(ex.Revision) }),
        el('td', { text: ex.Name }),
        el('td', { class: runClass(ex.Phase), text: ex.Phase || 'Pending' }),
        el('td', { text: ex.Message || '' }),
        el('td', null, (ex.Runs || []).length > 0 ? runs : '—')));
    }
    table.append(body);
    return table;
  }

  function newCard(ro, key) {
    const id = 'ro-' + cards.size + '-' + ro.Name.replace(/[^a-z0-9-]/g, '');
    const section = el('section', { class: 'rollout', 'data-key': key, 'aria-labelledby': id });
    section.append(el('h2', { id }, el('span', { text: ro.Name }), el('span', { class: 'ns', text: ro.Namespace })));
    const placeholder = el('div', { class: 'details' });
    const group = el('div', { class: 'actions', role: 'group', 'aria-label': 'Actions for ' + ro.Name });
    for (const a of actions) {
      const b = el('button', { type: 'button', 'data-action': a.id, class: a.danger ? 'danger' : '', text: a.label });
      b.addEventListener('click', () => openDialog(a, key, b));
      group.append(b);
    }
    section.append(placeholder, group);
    return { section, details: placeholder, last: '', rollout: ro };
  }

  function render(snap) {
    snapshot = snap;
    streamErrors = snap.Errors || [];
    renderErrors();
    main.setAttribute('aria-busy', snap.Synced ? 'false' : 'true');

    if (!snap.Namespace) {
      filterBox.hidden = false;
      const namespaces = [...new Set(snap.Rollouts.map((r) => r.Namespace))].sort();
      const have = [...filterSelect.options].map((o) => o.value).slice(1);
      if (have.join('\n') !== namespaces.join('\n')) {
        const keep = filterSelect.value;
        filterSelect.replaceChildren(el('option', { value: '', text: 'All namespaces' }),
          ...namespaces.map((n) => el('option', { value: n, text: n })));
        filterSelect.value = namespaces.includes(keep) ? keep : '';
      }
    }
    const wanted = filterSelect.value;
    const seen = new Set();
    let previous = null;
    for (const ro of snap.Rollouts) {
      if (wanted && ro.Namespace !== wanted) continue;
      const key = ro.Namespace + '/' + ro.Name;
      seen.add(key);
      let card = cards.get(key);
      if (!card) {
        card = newCard(ro, key);
        cards.set(key, card);
      }
      card.rollout = ro;
      // Keep the cards in the snapshot's order without moving a card that
      // is already in place (moving one would take the focus off its buttons).
      const want = previous ? previous.nextSibling : main.firstChild;
      if (card.section !== want) main.insertBefore(card.section, want);
      previous = card.section;
      const json = JSON.stringify(ro);
      if (json !== card.last) {
        const next = details(ro);
        card.section.replaceChild(next, card.details);
        card.details = next;
        card.last = json;
      }
      const before = phases.get(key);
      if (before && ro.Phase && before !== ro.Phase) announce(`${ro.Name}: ${before} → ${ro.Phase}`);
      if (ro.Phase) phases.set(key, ro.Phase);
    }
    for (const [key, card] of cards) {
      if (seen.has(key)) continue;
      const inSnapshot = snap.Rollouts.some((r) => r.Namespace + '/' + r.Name === key);
      if (!inSnapshot && phases.has(key)) announce(`Rollout ${key} is gone.`);
      card.section.remove();
      cards.delete(key);
      phases.delete(key);
    }
    main.append(empty);
    empty.hidden = seen.size > 0;
    if (!snap.Synced) {
      empty.textContent = streamErrors.length > 0 ? 'Cannot show the Rollouts: see the errors above.' : 'Loading…';
    } else {
      empty.textContent = snap.Namespace ? `No Rollouts in namespace ${snap.Namespace}.` : 'No Rollouts.';
    }
  }

  filterSelect.addEventListener('change', () => { if (snapshot) render(snapshot); });

  // The confirmation dialog.
  const dialog = document.getElementById('confirm');
  const form = document.getElementById('confirm-form');
  const title = document.getElementById('confirm-title');
  const text = document.getElementById('confirm-text');
  const imageFields = document.getElementById('image-fields');
  const containerSelect = document.getElementById('image-container');
  const imageInput = document.getElementById('image-name');
  const dialogError = document.getElementById('confirm-error');
  const okButton = document.getElementById('confirm-ok');
  const cancelButton = document.getElementById('confirm-cancel');
  let pending = null;

  function openDialog(action, key, opener) {
    const card = cards.get(key);
    if (!card) return;
    const ro = card.rollout;
    pending = { action, key, opener, namespace: ro.Namespace, name: ro.Name };
    title.textContent = `${action.verb} ${ro.Name}?`;
    text.textContent = `${action.text} (Rollout ${ro.Name} in namespace ${ro.Namespace}.)`;
    okButton.textContent = action.verb;
    dialogError.hidden = true;
    dialogError.textContent = '';
    imageFields.hidden = action.id !== 'set-image';
    if (action.id === 'set-image') {
      const names = (ro.Containers || []).concat(['*']);
      containerSelect.replaceChildren(...names.map((n) => el('option', { value: n, text: n === '*' ? '* (every container)' : n })));
      imageInput.value = '';
    }
    dialog.showModal();
    // Start on the safe choice; for set image, on the field to fill in.
    (action.id === 'set-image' ? imageInput : cancelButton).focus();
  }

  // Cancel is a plain button, so the form's only submit button, Confirm, is
  // the one Enter in the image field presses.
  cancelButton.addEventListener('click', () => dialog.close('cancel'));

  dialog.addEventListener('close', () => {
    if (pending && pending.opener.isConnected) pending.opener.focus();
    pending = null;
  });

  form.addEventListener('submit', (ev) => {
    if (!pending) return; // the dialog closes itself
    const req = {};
    if (pending.action.id === 'set-image') {
      req.container = containerSelect.value;
      req.image = imageInput.value.trim();
      if (!req.image) {
        ev.preventDefault();
        dialogError.textContent = 'Enter an image, such as registry.example.com/app:v2.';
        dialogError.hidden = false;
        imageInput.focus();
        return;
      }
    }
    const job = pending;
    post(job, req);
  });

  async function post(job, req) {
    const url = `api/namespaces/${encodeURIComponent(job.namespace)}/rollouts/${encodeURIComponent(job.name)}/${job.action.id}`;
    announce(`${job.action.verb} ${job.name}: sent.`);
    let answer = {};
    let status = 0;
    try {
      const resp = await fetch(url, {
        method: 'POST',
        credentials: 'same-origin',
        headers: { 'Content-Type': 'application/json', 'X-Switchyard-Token': token },
        body: JSON.stringify(req),
      });
      status = resp.status;
      try { answer = await resp.json(); } catch (e) { answer = { error: `HTTP ${resp.status} ${resp.statusText}` }; }
      if (!resp.ok && !answer.error) answer.error = `HTTP ${resp.status} ${resp.statusText}`;
    } catch (e) {
      answer = { error: `${job.action.verb} ${job.name}: the dashboard server did not answer (${e.message}).` };
    }
    if (answer.error) {
      actionError = answer.error;
      renderErrors();
      document.body.dataset.lastActionStatus = String(status);
      return;
    }
    actionError = '';
    renderErrors();
    announce(answer.message || `${job.action.verb} ${job.name}: done.`);
  }

  function setConnection(live) {
    connection.textContent = live ? 'Live' : 'Reconnecting…';
    connection.className = 'connection ' + (live ? 'live' : 'down');
    if (disconnected === live) {
      disconnected = !live;
      renderErrors();
    }
  }

  const events = new EventSource('api/events');
  events.addEventListener('state', (ev) => {
    setConnection(true);
    render(JSON.parse(ev.data));
  });
  events.addEventListener('error', () => setConnection(false));
})();
