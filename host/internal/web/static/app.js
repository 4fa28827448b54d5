// The integrations page: sign-in, the catalog with instant search and
// filters, connect (OAuth popup or credentials form), the connection
// panel with disconnect, and "try an action". It talks to the host's REST
// API with fetch; the session cookie authenticates, and every request
// carries the session's CSRF token.
'use strict';
(function () {
  const $ = (id) => document.getElementById(id);

  const ERRORS = {
    invalid_state: 'Invalid state: the sign-in link expired or was already used. Try again.',
    token_exchange_failed: 'Token exchange failed: the provider refused to exchange the authorization code. Check the client id, client secret and redirect URI of the OAuth app.',
    access_denied: 'Access denied: the authorization was declined at the provider.',
    provider_not_connected: 'Provider not connected: connect it first.',
    not_configured: 'This provider has no OAuth app on this host: set {PROVIDER}_CLIENT_ID and {PROVIDER}_CLIENT_SECRET, or register the tenant\'s own app.',
    unknown_provider: 'Unknown provider: it is not in the catalog.',
    invalid_return_to: 'The return address was refused by the host.',
    refresh_failed: 'Token refresh failed: reconnect the provider.',
    connection_expired: 'Connection expired: reconnect the provider.',
    connection_revoked: 'Connection revoked at the provider: reconnect it.',
    unsupported_auth: 'This provider cannot be connected from this page.',
    csrf_failed: 'The page is out of date: reload it and try again.',
  };

  const AUTH_LABELS = {
    oauth2: 'OAuth 2.0', oauth2_cc: 'OAuth 2.0 client credentials', oauth1: 'OAuth 1.0a',
    api_key: 'API key', basic: 'Basic', custom: 'Custom fields', none: 'No auth',
  };

  const state = {
    csrf: '',
    tenant: '',
    entries: [],
    byId: new Map(),
    status: new Map(),
    popup: null,
    popupTimer: 0,
    opener: null,
    current: '',
  };

  // Figures the browser tests read back: one record per filter run.
  const perf = { filters: [] };
  window.atomPerf = perf;

  // ---- messages -------------------------------------------------------

  function announce(text) {
    const el = $('status');
    el.textContent = '';
    // A new text node is announced even when the text repeats.
    window.setTimeout(() => { el.textContent = text; }, 30);
  }

  function showAlert(text) {
    $('alert-text').textContent = text;
    $('alert').hidden = false;
  }

  function hideAlert() {
    $('alert').hidden = true;
    $('alert-text').textContent = '';
  }

  function errorText(code, fallback) {
    return ERRORS[code] || fallback || ('The connection failed (' + code + ').');
  }

  // ---- API ------------------------------------------------------------

  class APIError extends Error {
    constructor(message, status, body) {
      super(message);
      this.status = status;
      this.body = body;
      this.code = body && body.error ? body.error.code : '';
    }
  }

  async function call(method, path, body) {
    const opts = { method, credentials: 'same-origin', headers: { Accept: 'application/json' } };
    if (body !== undefined) {
      opts.headers['Content-Type'] = 'application/json';
      opts.body = JSON.stringify(body);
    }
    if (state.csrf) {
      // Every call carries the token: some GETs change state
      // (?action=connect) and the host refuses them without it.
      opts.headers['X-CSRF-Token'] = state.csrf;
    }
    const res = await fetch(path, opts);
    const text = await res.text();
    let data = null;
    if (text) {
      try { data = JSON.parse(text); } catch (e) { data = null; }
    }
    if (!res.ok) {
      const msg = data && data.error ? (data.error.message || data.error.code) : ('HTTP ' + res.status);
      const err = new APIError(msg, res.status, data);
      if (res.status === 401 && path.startsWith('/api/')) {
        signedOut('Your session ended: sign in again.');
      }
      throw err;
    }
    return data;
  }

  const enc = encodeURIComponent;

  // ---- sign-in --------------------------------------------------------

  async function start() {
    $('alert-close').addEventListener('click', hideAlert);
    $('signin-form').addEventListener('submit', signIn);
    $('sign-out').addEventListener('click', signOut);
    $('panel-close').addEventListener('click', () => $('panel').close());
    $('panel').addEventListener('close', panelClosed);
    window.addEventListener('message', popupMessage);
    for (const id of ['q', 'category', 'auth', 'impl', 'connected-only']) {
      $(id).addEventListener(id === 'q' ? 'input' : 'change', applyFilter);
    }
    $('filters').addEventListener('submit', (e) => e.preventDefault());
    let s;
    try {
      s = await call('GET', '/integrations/session');
    } catch (e) {
      $('loading').hidden = true;
      showAlert('The host does not answer: ' + e.message);
      return;
    }
    if (s.signed_in) {
      await signedIn(s);
    } else {
      signedOut('');
    }
    handleRedirectResult();
  }

  // handleRedirectResult shows ?success= / ?error= when this page is the
  // target of the OAuth callback (full-page fallback when the popup was
  // blocked), then drops them from the address bar.
  function handleRedirectResult() {
    const p = new URLSearchParams(location.search);
    if (!p.has('success') && !p.has('error')) {
      return;
    }
    history.replaceState(null, '', location.pathname);
    connectResult({ success: p.get('success') || '', error: p.get('error') || '' });
  }

  async function signIn(e) {
    e.preventDefault();
    const key = $('api-key').value.trim();
    const err = $('signin-error');
    err.hidden = true;
    try {
      const s = await call('POST', '/integrations/session', { api_key: key });
      $('api-key').value = '';
      await signedIn(s);
    } catch (ex) {
      err.textContent = 'Sign-in failed: ' + ex.message;
      err.hidden = false;
      $('api-key').focus();
    }
  }

  async function signOut() {
    try {
      await call('DELETE', '/integrations/session');
    } catch (e) {
      // The cookie is gone or stale either way.
    }
    signedOut('Signed out.');
  }

  function signedOut(message) {
    state.csrf = '';
    state.tenant = '';
    if ($('panel').open) {
      $('panel').close();
    }
    $('loading').hidden = true;
    $('account').hidden = true;
    $('catalog').hidden = true;
    $('signin').hidden = false;
    if (message) {
      announce(message);
    }
    $('api-key').focus();
  }

  async function signedIn(s) {
    state.csrf = s.csrf_token;
    state.tenant = s.tenant_id;
    $('tenant-label').textContent = s.tenant_id;
    $('account').hidden = false;
    $('signin').hidden = true;
    $('loading').hidden = false;
    try {
      await loadCatalog();
    } catch (e) {
      showAlert('Could not load the catalog: ' + e.message);
      return;
    } finally {
      $('loading').hidden = true;
    }
    $('catalog').hidden = false;
    announce('Signed in as tenant ' + s.tenant_id + '. ' + state.entries.length + ' integrations.');
    $('q').focus();
  }

  // ---- catalog --------------------------------------------------------

  async function loadCatalog() {
    const [items, cats] = await Promise.all([fetchAll(), call('GET', '/api/v1/catalog/categories'), loadStatus()]);
    const sel = $('category');
    sel.length = 1;
    for (const c of cats.items || []) {
      if (!c.count) {
        continue;
      }
      const o = document.createElement('option');
      o.value = c.id;
      o.textContent = c.display_name + ' (' + c.count + ')';
      sel.append(o);
    }
    items.sort((a, b) => a.name.localeCompare(b.name, undefined, { sensitivity: 'base' }));
    state.entries = [];
    state.byId.clear();
    const frag = document.createDocumentFragment();
    for (const d of items) {
      const e = makeEntry(d);
      state.entries.push(e);
      state.byId.set(d.id, e);
      frag.append(e.el);
    }
    $('list').replaceChildren(frag);
    refreshRows();
    applyFilter();
  }

  async function fetchAll() {
    const out = [];
    let cursor = '';
    for (let i = 0; i < 100; i++) {
      const page = await call('GET', '/api/v1/catalog?limit=500' + (cursor ? '&cursor=' + enc(cursor) : ''));
      out.push(...(page.items || []));
      cursor = page.next_cursor || '';
      if (!cursor) {
        break;
      }
    }
    return out;
  }

  async function loadStatus() {
    const s = await call('GET', '/api/integrations/status');
    state.status.clear();
    for (const p of s.providers || []) {
      if (p.connected || (p.status && p.status !== 'available' && p.status !== 'not_connectable')) {
        state.status.set(p.id, p.status || 'active');
      }
    }
    $('summary').textContent = s.total_integrations + ' integrations in ' + s.categories + ' categories · ' +
      s.native_implementations + ' native · ' + s.connected + ' connected';
    return s;
  }

  function badge(text, cls) {
    const b = document.createElement('span');
    b.className = 'badge ' + cls;
    b.textContent = text;
    return b;
  }

  function makeEntry(d) {
    const li = document.createElement('li');
    li.className = 'item';
    li.dataset.id = d.id;
    const main = document.createElement('div');
    main.className = 'item-main';
    const name = document.createElement('span');
    name.className = 'name';
    name.textContent = d.name;
    const id = document.createElement('span');
    id.className = 'id';
    id.textContent = d.id;
    const badges = document.createElement('div');
    badges.className = 'badges';
    const kind = (d.auth && d.auth.kind) || 'none';
    badges.append(badge(AUTH_LABELS[kind] || kind, 'auth'));
    for (const impl of d.implementations || []) {
      badges.append(badge(impl, 'impl impl-' + impl));
    }
    main.append(name, id, badges);
    const st = document.createElement('span');
    st.className = 'state';
    const btn = document.createElement('button');
    btn.type = 'button';
    btn.className = 'open';
    btn.addEventListener('click', () => openPanel(d.id, btn));
    li.append(main, st, btn);
    const cats = d.categories || [];
    return {
      d, el: li, stateEl: st, btn, kind, cats,
      text: [d.name, d.id, cats.join(' '), kind].join(' ').toLowerCase(),
      connected: false,
    };
  }

  // refreshRows writes each row's connection state and button label.
  function refreshRows() {
    for (const e of state.entries) {
      const st = state.status.get(e.d.id) || '';
      e.connected = st === 'active';
      let label;
      let text = '';
      if (st) {
        text = st === 'active' ? 'Connected' : capital(st);
        label = 'Manage';
      } else if (!e.d.connectable) {
        text = 'Not connectable';
        label = 'Details';
      } else {
        label = 'Connect';
      }
      if (e.stateEl.textContent !== text) {
        e.stateEl.textContent = text;
        e.stateEl.dataset.state = st || (e.d.connectable ? '' : 'not_connectable');
      }
      if (e.btn.textContent !== label) {
        e.btn.textContent = label;
        e.btn.setAttribute('aria-label', label + ' ' + e.d.name);
      }
    }
  }

  // applyFilter shows the rows that match every filter by toggling hidden
  // on the rows whose visibility changes, and records how long it took
  // from the input event to the updated layout.
  function applyFilter(ev) {
    const t0 = ev && ev.timeStamp ? ev.timeStamp : performance.now();
    const words = $('q').value.toLowerCase().split(/\s+/).filter(Boolean);
    const cat = $('category').value;
    const auth = $('auth').value;
    const impl = $('impl').value;
    const connectedOnly = $('connected-only').checked;
    let shown = 0;
    for (const e of state.entries) {
      let ok = (!cat || e.cats.includes(cat)) && (!auth || e.kind === auth) &&
        (!impl || (e.d.implementations || []).includes(impl)) && (!connectedOnly || e.connected);
      for (let i = 0; ok && i < words.length; i++) {
        ok = e.text.includes(words[i]);
      }
      if (e.el.hidden === ok) {
        e.el.hidden = !ok;
      }
      if (ok) {
        shown++;
      }
    }
    $('count').textContent = shown === state.entries.length
      ? 'Showing all ' + shown + ' integrations'
      : 'Showing ' + shown + ' of ' + state.entries.length + ' integrations';
    const t1 = performance.now();
    void $('list').offsetHeight; // style and layout, as the next frame needs them
    const t2 = performance.now();
    const rec = { query: $('q').value, shown, script_ms: t1 - t0, layout_ms: t2 - t0, paint_ms: -1 };
    perf.filters.push(rec);
    if (perf.filters.length > 200) {
      perf.filters.shift();
    }
    requestAnimationFrame(() => setTimeout(() => { rec.paint_ms = performance.now() - t0; }, 0));
  }

  function capital(s) {
    return s ? s.charAt(0).toUpperCase() + s.slice(1).replace(/_/g, ' ') : s;
  }

  // ---- panel ----------------------------------------------------------

  function el(tag, attrs, ...children) {
    const n = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) {
        continue;
      }
      if (k === 'text') {
        n.textContent = v;
      } else if (k === 'class') {
        n.className = v;
      } else if (k.startsWith('on')) {
        n.addEventListener(k.slice(2), v);
      } else {
        n.setAttribute(k, v === true ? '' : v);
      }
    }
    for (const c of children) {
      if (c !== null && c !== undefined) {
        n.append(c);
      }
    }
    return n;
  }

  function openPanel(id, from) {
    const e = state.byId.get(id);
    if (!e) {
      return;
    }
    state.current = id;
    state.opener = from || null;
    $('panel-title').textContent = e.d.name;
    renderPanel(e.d);
    if (!$('panel').open) {
      $('panel').showModal();
    }
  }

  function panelClosed() {
    state.current = '';
    $('panel-body').replaceChildren();
    if (state.opener && document.contains(state.opener)) {
      state.opener.focus();
    }
  }

  function safeURL(u) {
    try {
      const x = new URL(u);
      return x.protocol === 'https:' || x.protocol === 'http:' ? x.href : '';
    } catch (e) {
      return '';
    }
  }

  function fmtTime(t) {
    if (!t) {
      return '—';
    }
    const d = new Date(t);
    return isNaN(d) ? t : d.toLocaleString();
  }

  function humanize(name) {
    const s = name.replace(/[_-]+/g, ' ').replace(/([a-z0-9])([A-Z])/g, '$1 $2').trim();
    return s.charAt(0).toUpperCase() + s.slice(1).toLowerCase();
  }

  function secretField(name) {
    return /key|secret|password|token/i.test(name);
  }

  async function renderPanel(d) {
    const body = $('panel-body');
    const kind = (d.auth && d.auth.kind) || 'none';
    const meta = el('dl', { class: 'meta' },
      el('dt', { text: 'Id' }), el('dd', { text: d.id }),
      el('dt', { text: 'Categories' }), el('dd', { text: (d.categories || []).join(', ') || '—' }),
      el('dt', { text: 'Authentication' }), el('dd', { text: AUTH_LABELS[kind] || kind }),
      el('dt', { text: 'Implementation' }), el('dd', { text: (d.implementations || []).join(', ') || '—' }));
    const docs = safeURL(d.docs_url || '');
    if (docs) {
      meta.append(el('dt', { text: 'Docs' }), el('dd', {}, el('a', { href: docs, rel: 'noopener noreferrer', target: '_blank', text: docs })));
    }
    const conn = el('section', { class: 'conn', 'aria-labelledby': 'conn-title' }, el('h3', { id: 'conn-title', text: 'Connection' }), el('p', { class: 'muted', text: 'Loading…' }));
    body.replaceChildren(meta, conn);
    let st;
    try {
      st = await call('GET', '/api/integrations/' + enc(d.id) + '?action=status');
    } catch (e) {
      conn.replaceChildren(el('h3', { id: 'conn-title', text: 'Connection' }), el('p', { class: 'error', text: e.message }));
      return;
    }
    if (state.current !== d.id) {
      return;
    }
    const parts = [el('h3', { id: 'conn-title', text: 'Connection' })];
    if (st.connection) {
      parts.push(connectionDetails(d, st));
    }
    if (!st.connected) {
      parts.push(connectForm(d, !!st.connection));
    }
    conn.replaceChildren(...parts);
    if (st.connected) {
      body.append(actionSection(d), executionsSection(d));
    }
  }

  function connectionDetails(d, st) {
    const c = st.connection;
    const status = c.status || (st.connected ? 'active' : 'unknown');
    const dl = el('dl', { class: 'meta' },
      el('dt', { text: 'Status' }), el('dd', {}, el('span', { class: 'state', 'data-state': status, id: 'conn-status', text: status === 'active' ? 'Connected' : capital(status) })));
    if (c.status_reason) {
      dl.append(el('dt', { text: 'Reason' }), el('dd', { text: c.status_reason }));
    }
    dl.append(
      el('dt', { text: 'Scopes' }), el('dd', { text: c.scope || '—' }),
      el('dt', { text: 'Connected' }), el('dd', { text: fmtTime(c.connected_at) }),
      el('dt', { text: 'Last refreshed' }), el('dd', { text: fmtTime(c.last_refreshed_at) }),
      el('dt', { text: 'Expires' }), el('dd', { text: fmtTime(c.expires_at) }));
    for (const [k, v] of Object.entries(c.params || {})) {
      dl.append(el('dt', { text: humanize(k) }), el('dd', { text: v }));
    }
    const confirmBox = el('div', { class: 'confirm', hidden: true, role: 'group', 'aria-labelledby': 'confirm-text' });
    const disc = el('button', { type: 'button', id: 'disconnect', class: 'danger', text: 'Disconnect' });
    const yes = el('button', { type: 'button', id: 'confirm-disconnect', class: 'danger', text: 'Yes, disconnect' });
    const no = el('button', { type: 'button', id: 'cancel-disconnect', text: 'Cancel' });
    confirmBox.append(el('p', { id: 'confirm-text', text: 'Disconnect ' + d.name + '? Its stored credentials are deleted and actions stop working until you connect again.' }), yes, no);
    disc.addEventListener('click', () => { disc.hidden = true; confirmBox.hidden = false; yes.focus(); });
    no.addEventListener('click', () => { confirmBox.hidden = true; disc.hidden = false; disc.focus(); });
    yes.addEventListener('click', async () => {
      yes.disabled = true;
      try {
        await call('DELETE', '/api/v1/connections/' + enc(d.id));
        announce(d.name + ' disconnected.');
        await afterChange(d);
      } catch (e) {
        yes.disabled = false;
        showAlert(e.code ? errorText(e.code, e.message) : e.message);
      }
    });
    return el('div', {}, dl, disc, confirmBox);
  }

  function paramFields(d, form) {
    const a = d.auth || {};
    const optional = new Set(a.optional_connection_params || []);
    const options = a.connection_param_options || {};
    for (const p of a.connection_params || []) {
      const id = 'param-' + p;
      let input;
      if (options[p] && options[p].length) {
        input = el('select', { id, name: p, 'data-param': p, required: !optional.has(p) });
        for (const v of options[p]) {
          input.append(el('option', { value: v, text: v }));
        }
      } else {
        input = el('input', { id, name: p, 'data-param': p, type: 'text', autocomplete: 'off', spellcheck: 'false', required: !optional.has(p) });
      }
      form.append(el('div', { class: 'field' }, el('label', { for: id, text: humanize(p) + (optional.has(p) ? ' (optional)' : '') }), input));
    }
  }

  function collectParams(form) {
    const params = {};
    for (const n of form.querySelectorAll('[data-param]')) {
      if (n.value.trim()) {
        params[n.dataset.param] = n.value.trim();
      }
    }
    return params;
  }

  function connectForm(d, reconnect) {
    const kind = (d.auth && d.auth.kind) || 'none';
    const form = el('form', { id: 'connect-form', class: 'stack', novalidate: false });
    const err = el('p', { id: 'connect-error', class: 'error', role: 'alert', hidden: true });
    if (!d.connectable) {
      return el('p', { class: 'muted', text: 'This integration cannot be connected yet: ' + (d.not_connectable_reason || 'its data is incomplete') + '.' });
    }
    if (kind === 'none') {
      return el('p', { class: 'muted', text: 'This integration needs no credentials.' });
    }
    const verb = reconnect ? 'Reconnect ' : 'Connect ';
    if (kind === 'oauth2' || kind === 'oauth1') {
      form.append(el('p', { text: 'You sign in at ' + d.name + ' in a new window and approve access' + ((d.auth.scopes || []).length ? ' (' + d.auth.scopes.join(', ') + ')' : '') + '.' }));
      paramFields(d, form);
      form.append(el('button', { type: 'submit', class: 'primary', id: 'connect-submit', text: verb + d.name }), err);
      form.addEventListener('submit', (e) => { e.preventDefault(); startOAuth(d, form, err); });
      return form;
    }
    let fields = (d.auth.credential_fields || []).slice();
    if (!fields.length) {
      fields = { api_key: ['apiKey'], basic: ['username', 'password'], oauth2_cc: ['client_id', 'client_secret'] }[kind] || [];
    }
    for (const f of fields) {
      const id = 'cred-' + f;
      form.append(el('div', { class: 'field' },
        el('label', { for: id, text: humanize(f) }),
        el('input', { id, name: f, 'data-cred': f, type: secretField(f) ? 'password' : 'text', autocomplete: 'off', spellcheck: 'false', required: kind !== 'basic' || f !== 'password' })));
    }
    paramFields(d, form);
    form.append(el('button', { type: 'submit', class: 'primary', id: 'connect-submit', text: verb + d.name }), err);
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      err.hidden = true;
      const body = { fields: {}, params: collectParams(form) };
      for (const n of form.querySelectorAll('[data-cred]')) {
        body.fields[n.dataset.cred] = n.value;
      }
      if (kind === 'api_key' && fields.length === 1) {
        body.api_key = body.fields[fields[0]];
      }
      if (kind === 'basic') {
        body.username = body.fields.username || '';
        body.password = body.fields.password || '';
      }
      const btn = form.querySelector('#connect-submit');
      btn.disabled = true;
      try {
        await call('POST', '/api/v1/connections/' + enc(d.id), body);
        announce(d.name + ' connected.');
        await afterChange(d);
      } catch (ex) {
        btn.disabled = false;
        err.textContent = (ex.code === 'invalid_credentials' ? 'Refused by ' + d.name + ': ' : 'Not connected: ') + ex.message;
        err.hidden = false;
      }
    });
    return form;
  }

  // startOAuth opens the popup at once (inside the click, so it is not
  // blocked), asks the host for the authorization URL and sends the popup
  // there. Without a popup the whole page goes, and comes back with
  // ?success= or ?error=.
  async function startOAuth(d, form, err) {
    err.hidden = true;
    if (!form.reportValidity()) {
      return;
    }
    let popup = null;
    try {
      popup = window.open('', 'atom-connect', 'popup,width=560,height=720');
    } catch (e) {
      popup = null;
    }
    const q = new URLSearchParams({ action: 'connect', return_to: popup ? '/integrations/popup-done' : '/integrations' });
    for (const [k, v] of Object.entries(collectParams(form))) {
      q.set(k, v);
    }
    let res;
    try {
      res = await call('GET', '/api/integrations/' + enc(d.id) + '?' + q.toString());
    } catch (e) {
      if (popup) {
        popup.close();
      }
      err.textContent = e.code ? errorText(e.code, e.message) : e.message;
      err.hidden = false;
      return;
    }
    const target = safeURL(res.authUrl);
    if (!target) {
      if (popup) {
        popup.close();
      }
      err.textContent = 'The host returned an unusable authorization URL.';
      err.hidden = false;
      return;
    }
    if (!popup) {
      location.assign(target);
      return;
    }
    popup.location.href = target;
    state.popup = popup;
    announce('Continue in the ' + d.name + ' window.');
    window.clearInterval(state.popupTimer);
    state.popupTimer = window.setInterval(() => {
      if (!state.popup || state.popup.closed) {
        window.clearInterval(state.popupTimer);
        const was = state.popup;
        state.popup = null;
        if (was) {
          refreshAll();
        }
      }
    }, 700);
  }

  function popupMessage(e) {
    if (e.origin !== location.origin || !e.data || e.data.type !== 'atom-connect') {
      return;
    }
    state.popup = null;
    window.clearInterval(state.popupTimer);
    connectResult({ success: String(e.data.success || ''), error: String(e.data.error || '') });
  }

  async function connectResult(r) {
    if (r.success) {
      const e = state.byId.get(r.success);
      hideAlert();
      announce((e ? e.d.name : r.success) + ' connected.');
      await refreshAll();
      if (e && !$('panel').open && state.csrf) {
        openPanel(r.success, e.btn);
      }
      return;
    }
    showAlert(errorText(r.error));
    await refreshAll();
  }

  async function refreshAll() {
    if (!state.csrf) {
      return;
    }
    try {
      await loadStatus();
    } catch (e) {
      return;
    }
    refreshRows();
    applyFilter();
    const e = state.byId.get(state.current);
    if (e && $('panel').open) {
      renderPanel(e.d);
    }
  }

  async function afterChange(d) {
    await refreshAll();
    const target = $('panel').querySelector('#disconnect, #connect-submit, #panel-close');
    if (target) {
      target.focus();
    }
  }

  // ---- actions --------------------------------------------------------

  function actionSection(d) {
    const sec = el('section', { class: 'actions', 'aria-labelledby': 'actions-title' }, el('h3', { id: 'actions-title', text: 'Try an action' }));
    const status = el('p', { class: 'muted', text: 'Loading actions…' });
    sec.append(status);
    call('GET', '/api/v1/integrations/' + enc(d.id) + '/actions').then((res) => {
      const actions = (res && res.actions) || [];
      if (!actions.length) {
        status.textContent = 'This integration has no actions.';
        return;
      }
      const select = el('select', { id: 'action-select' });
      for (const a of actions) {
        select.append(el('option', { value: a.name, text: a.display_name || a.name }));
      }
      const desc = el('p', { id: 'action-desc', class: 'muted' });
      const form = el('form', { id: 'action-form', class: 'stack' });
      const out = el('div', { id: 'action-result', class: 'result', 'aria-live': 'polite' });
      const show = () => {
        const a = actions.find((x) => x.name === select.value);
        desc.textContent = a.description || '';
        buildActionForm(d, a, form, out);
      };
      select.addEventListener('change', show);
      status.replaceWith(el('div', { class: 'field' }, el('label', { for: 'action-select', text: 'Action' }), select), desc, form, out);
      show();
    }).catch((e) => {
      status.textContent = e.status === 404 ? 'Actions are not available on this host.' : 'Could not load actions: ' + e.message;
    });
    return sec;
  }

  function schemaType(s) {
    let t = s && s.type;
    if (Array.isArray(t)) {
      t = t.find((x) => x !== 'null') || t[0];
    }
    return t || (s && s.enum ? 'string' : 'any');
  }

  function buildActionForm(d, a, form, out) {
    form.replaceChildren();
    out.replaceChildren();
    const schema = a.input_schema || {};
    const props = schema.properties || {};
    const required = new Set(schema.required || []);
    for (const [name, s] of Object.entries(props)) {
      const id = 'in-' + name;
      const type = schemaType(s);
      const label = el('label', { for: id, text: (s.title || name) + (required.has(name) ? ' (required)' : '') });
      const hint = s.description ? el('p', { id: id + '-hint', class: 'hint', text: s.description }) : null;
      const common = { id, name, 'data-input': name, 'data-type': type, 'aria-describedby': hint ? id + '-hint' : null };
      let input;
      if (s.enum) {
        input = el('select', common);
        if (!required.has(name)) {
          input.append(el('option', { value: '', text: '—' }));
        }
        for (const v of s.enum) {
          input.append(el('option', { value: String(v), text: String(v) }));
        }
        if (s.default !== undefined) {
          input.value = String(s.default);
        }
      } else if (type === 'boolean') {
        input = el('input', Object.assign({ type: 'checkbox', checked: s.default === true }, common));
        form.append(el('div', { class: 'field check' }, input, label), hint);
        continue;
      } else if (type === 'number' || type === 'integer') {
        input = el('input', Object.assign({ type: 'number', step: type === 'integer' ? '1' : 'any', value: s.default !== undefined ? String(s.default) : null }, common));
      } else if (type === 'string') {
        input = el('input', Object.assign({ type: 'text', autocomplete: 'off', spellcheck: 'false', value: s.default !== undefined ? String(s.default) : null }, common));
      } else {
        input = el('textarea', Object.assign({ rows: '3', spellcheck: 'false', placeholder: { array: '[ ]', object: '{ }' }[type] || 'JSON or text' }, common));
        if (s.default !== undefined) {
          input.value = JSON.stringify(s.default);
        }
      }
      form.append(el('div', { class: 'field' }, label, input, hint));
    }
    if (!Object.keys(props).length) {
      form.append(el('p', { class: 'muted', text: 'This action takes no input.' }));
    }
    const run = el('button', { type: 'submit', class: 'primary', id: 'run-action', text: 'Run ' + (a.display_name || a.name) });
    form.append(run);
    form.onsubmit = async (e) => {
      e.preventDefault();
      out.replaceChildren();
      let input;
      try {
        input = collectInput(form, required);
      } catch (ex) {
        out.append(el('p', { class: 'error', role: 'alert', text: ex.message }));
        return;
      }
      run.disabled = true;
      out.append(el('p', { class: 'muted', text: 'Running…' }));
      let res;
      let failed = null;
      try {
        res = await call('POST', '/api/v1/integrations/' + enc(d.id) + '/actions/' + enc(a.name), { input });
      } catch (ex) {
        failed = ex;
        res = ex.body || {};
      } finally {
        run.disabled = false;
      }
      const parts = [];
      if (failed) {
        parts.push(el('p', { class: 'error', role: 'alert', text: 'Failed: ' + failed.message }));
        for (const dg of res.diagnostics || []) {
          parts.push(el('p', { class: 'hint', text: (dg.severity ? dg.severity + ': ' : '') + (dg.summary || '') + (dg.detail ? ' — ' + dg.detail : '') }));
        }
      } else {
        parts.push(el('h4', { text: 'Output' }), el('pre', { id: 'action-output', tabindex: '0', text: JSON.stringify(res.output, null, 2) }));
      }
      out.replaceChildren(...parts);
      if (res.execution_id) {
        out.append(await executionRecord(res.execution_id));
      }
      loadExecutions(d);
    };
  }

  function collectInput(form, required) {
    const input = {};
    for (const n of form.querySelectorAll('[data-input]')) {
      const name = n.dataset.input;
      const type = n.dataset.type;
      if (n.type === 'checkbox') {
        input[name] = n.checked;
        continue;
      }
      const v = n.value.trim();
      if (!v) {
        if (required.has(name)) {
          n.focus();
          throw new Error(name + ' is required.');
        }
        continue;
      }
      if (n.tagName === 'SELECT' || type === 'string') {
        input[name] = v;
      } else if (type === 'number' || type === 'integer') {
        const x = Number(v);
        if (!Number.isFinite(x) || (type === 'integer' && !Number.isInteger(x))) {
          n.focus();
          throw new Error(name + ' must be ' + (type === 'integer' ? 'a whole number.' : 'a number.'));
        }
        input[name] = x;
      } else {
        try {
          input[name] = JSON.parse(v);
        } catch (e) {
          if (type === 'any') {
            input[name] = v; // a field of any type takes plain text as a string
            continue;
          }
          n.focus();
          throw new Error(name + ' must be JSON: ' + e.message);
        }
      }
    }
    return input;
  }

  async function executionRecord(id) {
    const box = el('dl', { class: 'meta', id: 'execution-record' }, el('dt', { text: 'Execution' }), el('dd', { text: id }));
    try {
      const x = await call('GET', '/api/v1/executions/' + enc(id));
      box.append(el('dt', { text: 'Status' }), el('dd', { id: 'execution-status', text: x.status || '—' }),
        el('dt', { text: 'Duration' }), el('dd', { text: duration(x) }));
      if (x.error) {
        box.append(el('dt', { text: 'Error' }), el('dd', { text: (x.error.code ? x.error.code + ': ' : '') + (x.error.message || '') }));
      }
    } catch (e) {
      box.append(el('dt', { text: 'Record' }), el('dd', { text: e.message }));
    }
    return box;
  }

  function duration(x) {
    const ms = x.duration_ms !== undefined ? x.duration_ms : x.durationMs;
    return ms === undefined || ms === null ? '—' : ms + ' ms';
  }

  function executionsSection(d) {
    const sec = el('section', { class: 'executions', 'aria-labelledby': 'exec-title' },
      el('h3', { id: 'exec-title', text: 'Recent executions' }),
      el('div', { id: 'exec-list' }, el('p', { class: 'muted', text: 'Loading…' })));
    loadExecutions(d, sec);
    return sec;
  }

  async function loadExecutions(d, sec) {
    const box = (sec || document).querySelector('#exec-list');
    if (!box) {
      return;
    }
    let res;
    try {
      res = await call('GET', '/api/v1/executions?provider=' + enc(d.id) + '&limit=10');
    } catch (e) {
      box.replaceChildren(el('p', { class: 'muted', text: e.status === 404 ? 'Executions are not recorded on this host.' : e.message }));
      return;
    }
    // The list is "items" in the REST contract; the engine also names it "executions".
    const items = (res && (res.items || res.executions)) || [];
    if (!items.length) {
      box.replaceChildren(el('p', { class: 'muted', text: 'No executions yet.' }));
      return;
    }
    const table = el('table', {}, el('caption', { class: 'visually-hidden', text: 'Recent executions of ' + d.name }),
      el('thead', {}, el('tr', {}, el('th', { scope: 'col', text: 'When' }), el('th', { scope: 'col', text: 'Action' }),
        el('th', { scope: 'col', text: 'Status' }), el('th', { scope: 'col', text: 'Duration' }))));
    const tb = el('tbody');
    for (const x of items) {
      tb.append(el('tr', {}, el('td', { text: fmtTime(x.created_at) }), el('td', { text: x.action || '' }),
        el('td', { text: x.status || '' }), el('td', { text: duration(x) })));
    }
    table.append(tb);
    box.replaceChildren(el('div', { class: 'scroll' }, table));
  }

  start();
})();
