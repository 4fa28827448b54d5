// The integrations page: sign-in, the catalog with instant search and
// filters, connect (OAuth popup or credentials form), the connection
// panel with disconnect, "try an action", and the connection's triggers
// with their recent events. It talks to the host's REST
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
    not_configured: 'This provider has no OAuth app on this host: register your own OAuth app in its panel, or ask the operator to set its client id and secret.',
    unknown_provider: 'Unknown provider: it is not in the catalog.',
    invalid_return_to: 'The return address was refused by the host.',
    refresh_failed: 'Token refresh failed: reconnect the provider.',
    invalid_callback: 'The provider sent you back without an authorization code: start the connection again.',
    connection_expired: 'Connection expired: reconnect the provider.',
    connection_revoked: 'Connection revoked at the provider: reconnect it.',
    unsupported_auth: 'This provider cannot be connected from this page.',
    csrf_failed: 'The page is out of date: reload it and try again.',
  };

  const AUTH_LABELS = {
    oauth2: 'OAuth 2.0', oauth2_cc: 'OAuth 2.0 client credentials', oauth1: 'OAuth 1.0a',
    api_key: 'API key', basic: 'Basic', custom: 'Custom fields', none: 'No auth',
  };

  // Sites of other integration products: the catalog data came from them,
  // and their pages are not the provider's own documentation.
  const INTEGRATOR_SITES = ['nango.dev', 'activepieces.com'];

  // Labels of the services' own sub-domains, dropped to reach the
  // provider's site from its API or sign-in host (api.stripe.com → stripe.com).
  const SERVICE_LABELS = new Set(['api', 'www', 'app', 'apps', 'oauth', 'oauth2', 'auth', 'login', 'accounts', 'account', 'connect', 'secure', 'id', 'rest', 'developer', 'developers', 'graph']);

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
    // The panel's triggers section whose events are being followed, and
    // the timer of its next look for new ones.
    watch: null,
    watchTimer: 0,
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

  // authWays lists every way the descriptor offers to connect: its
  // primary auth, then its alternatives, one per kind.
  function authWays(d) {
    const out = [];
    const seen = new Set();
    for (const a of [d.auth || { kind: 'none' }].concat(d.auth_alternatives || [])) {
      const k = a.kind || 'none';
      if (!seen.has(k)) {
        seen.add(k);
        out.push(a);
      }
    }
    return out;
  }

  // monogram is the provider's mark: its initials on a colour derived
  // from its id (the catalog holds no logos, and the page loads nothing
  // from other sites).
  function monogram(d) {
    let words = d.name.replace(/\(.*?\)/g, ' ').split(/[^A-Za-z0-9]+/).filter(Boolean);
    if (words.length === 1) {
      // One word in camel case (OneDrive, 1ClickImpact) gives two initials.
      words = words[0].replace(/([a-z0-9])([A-Z])/g, '$1 $2').split(' ');
    }
    const letters = words.length > 1 ? (words[0][0] + words[1][0]).toUpperCase()
      : (words[0] || d.id).charAt(0).toUpperCase() + (words[0] || d.id).charAt(1).toLowerCase();
    let h = 0;
    for (const c of d.id) {
      h = (h * 31 + c.charCodeAt(0)) >>> 0;
    }
    const m = document.createElement('span');
    m.className = 'logo mono-' + (h % 12);
    m.setAttribute('aria-hidden', 'true');
    m.textContent = letters;
    return m;
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
    const kinds = authWays(d).map((a) => a.kind);
    for (const k of kinds) {
      badges.append(badge(AUTH_LABELS[k] || k, 'auth'));
    }
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
    li.append(monogram(d), main, st, btn);
    const cats = d.categories || [];
    return {
      d, el: li, stateEl: st, btn, kind, kinds, cats,
      text: [d.name, d.id, cats.join(' '), kinds.join(' ')].join(' ').toLowerCase(),
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
      let ok = (!cat || e.cats.includes(cat)) && (!auth || e.kinds.includes(auth)) &&
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
    // A close event is dispatched after close() returns: when the panel
    // was opened again in between (close, then open another entry at
    // once), this event is stale and must not empty the new panel.
    if ($('panel').open) {
      return;
    }
    state.current = '';
    stopEvents();
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

  // fmtShort is a time for a narrow table column: the time of day for
  // today, else the date and time without seconds.
  function fmtShort(t) {
    const d = new Date(t);
    if (!t || isNaN(d)) {
      return t || '—';
    }
    const today = new Date().toDateString() === d.toDateString();
    return today ? d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' })
      : d.toLocaleString([], { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' });
  }

  function humanize(name) {
    const s = name.replace(/[_-]+/g, ' ').replace(/([a-z0-9])([A-Z])/g, '$1 $2').trim();
    return s.charAt(0).toUpperCase() + s.slice(1).toLowerCase();
  }

  function secretField(name) {
    return /key|secret|password|token/i.test(name);
  }

  async function renderPanel(d) {
    stopEvents();
    const body = $('panel-body');
    const meta = el('dl', { class: 'meta' },
      el('dt', { text: 'Id' }), el('dd', { text: d.id }),
      el('dt', { text: 'Categories' }), el('dd', { text: (d.categories || []).join(', ') || '—' }),
      el('dt', { text: 'Authentication' }), el('dd', { text: authWays(d).map((a) => AUTH_LABELS[a.kind] || a.kind).join(' or ') }),
      el('dt', { text: 'Implementation' }), el('dd', { text: (d.implementations || []).join(', ') || '—' }));
    const link = providerLink(d);
    if (link) {
      meta.append(el('dt', { text: link.label }), el('dd', {}, el('a', { href: link.href, id: 'provider-link', rel: 'noopener noreferrer', target: '_blank', text: link.text })));
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
      parts.push(connectChoice(d, st));
    }
    conn.replaceChildren(...parts);
    if (st.connected) {
      body.append(actionSection(d), executionsSection(d));
    }
    if (st.connection) {
      body.append(triggersSection(d, st));
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

  // providerLink is the provider's own documentation when the catalog
  // names it, else the provider's site taken from its API or sign-in
  // address. Pages of other integration products are never shown.
  function providerLink(d) {
    const docs = safeURL(d.docs_url || '');
    if (docs && !INTEGRATOR_SITES.some((h) => new URL(docs).hostname === h || new URL(docs).hostname.endsWith('.' + h))) {
      return { label: 'Docs', href: docs, text: docs };
    }
    for (const a of authWays(d)) {
      for (const u of [(d.api || {}).base_url, a.authorization_url, a.token_url]) {
        if (!u || u.includes('{{')) {
          continue;
        }
        const x = safeURL(u);
        if (!x) {
          continue;
        }
        const host = new URL(x).hostname;
        if (host === 'localhost' || /^[0-9.]+$/.test(host) || host.startsWith('[')) {
          continue;
        }
        const labels = host.split('.');
        while (labels.length > 2 && SERVICE_LABELS.has(labels[0])) {
          labels.shift();
        }
        const site = 'https://' + labels.join('.') + '/';
        return { label: 'Website', href: site, text: labels.join('.') };
      }
    }
    return null;
  }

  // reasonText says in the user's words why an entry cannot be connected;
  // the catalog's own reason stays available as the technical detail.
  function reasonText(reason) {
    const r = reason || '';
    if (/needs a provider-specific credential exchange/.test(r)) {
      return 'Its sign-in trades your credentials for a token in a way of its own, which Atom does not do yet. A native plugin for it can.';
    }
    if (/is not supported by Atom's connection flows/.test(r)) {
      return 'It signs in a way Atom does not support yet.';
    }
    if (/no API base URL/.test(r)) {
      return 'Atom does not know the address of its API yet.';
    }
    if (/runtime template expressions/.test(r)) {
      return 'Each request needs values computed at call time (such as signatures), which Atom does not compute yet.';
    }
    if (/token request|token endpoint/.test(r)) {
      return 'Its token request works in a way Atom does not support yet.';
    }
    if (/without an? .*URL/.test(r)) {
      return 'The catalog lacks one of its sign-in addresses.';
    }
    return 'Its catalog data is incomplete.';
  }

  // Where a template variable goes: the places of a descriptor that may
  // carry {{credentials.X}} or {{connection.X}}.
  function whereUsed(d, a, scope, name) {
    const re = new RegExp('\\{\\{\\s*' + scope + '\\.' + name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&') + '\\s*(\\}\\}|\\|\\|)');
    const out = [];
    const api = d.api || {};
    if (re.test(api.base_url || '')) {
      out.push('the API address (' + (api.base_url || '').replace(/\{\{\s*connection\.([A-Za-z0-9_]+)[^}]*\}\}/g, '<$1>') + ')');
    }
    for (const [h, v] of Object.entries(api.headers || {})) {
      if (re.test(v)) {
        out.push('the ' + h + ' header of every request');
      }
    }
    if (re.test(a.authorization_url || '') || Object.values(a.authorization_params || {}).some((v) => re.test(v))) {
      out.push('the sign-in address at ' + d.name);
    }
    if (re.test(a.token_url || '') || Object.values(a.token_params || {}).some((v) => re.test(v)) || Object.values(a.token_headers || {}).some((v) => re.test(v))) {
      out.push('the token request');
    }
    if (re.test(a.check_url || '')) {
      out.push('the check Atom makes when you connect');
    }
    return out;
  }

  function joinPlaces(places) {
    if (places.length <= 1) {
      return places[0] || '';
    }
    return places.slice(0, -1).join(', ') + ' and ' + places[places.length - 1];
  }

  // keyPlacement says where an API key goes, the way the host applies it
  // (connect.ApplyCredentials): the descriptor's placement, else its
  // default headers, else "Authorization: Bearer".
  function keyPlacement(d, a, field) {
    if (a.api_key_in === 'query') {
      return 'Sent as the query parameter ' + (a.api_key_name || 'api_key') + ' of every request' + (a.api_key_prefix ? ', after "' + a.api_key_prefix + '"' : '') + '.';
    }
    if (a.api_key_in === 'header' || a.api_key_name) {
      return 'Sent in the ' + (a.api_key_name || 'Authorization') + ' header of every request' + (a.api_key_prefix ? ' as "' + a.api_key_prefix.trim() + ' <key>"' : '') + '.';
    }
    if (Object.keys((d.api || {}).headers || {}).length) {
      const places = whereUsed(d, a, 'credentials', field);
      return places.length ? 'Goes into ' + joinPlaces(places) + '.' : 'Kept with the connection for the provider\'s plugin.';
    }
    return 'Sent in the Authorization header of every request as "Bearer <key>".';
  }

  function fieldHint(id, text) {
    return text ? el('p', { id: id + '-hint', class: 'hint', text }) : null;
  }

  // connectChoice offers every way the descriptor has to connect; the
  // chosen way's form follows.
  function connectChoice(d, st) {
    const reconnect = !!st.connection;
    if (!d.connectable) {
      return el('div', {},
        el('p', { class: 'muted', id: 'not-connectable', text: 'This integration cannot be connected yet. ' + reasonText(d.not_connectable_reason) }),
        d.not_connectable_reason ? el('details', {}, el('summary', { text: 'Technical detail' }), el('p', { class: 'hint', text: d.not_connectable_reason })) : null);
    }
    const ways = authWays(d).filter((a, i) => i === 0 || a.kind !== 'oauth2' && a.kind !== 'oauth1' && a.kind !== 'none');
    if (ways.length === 1) {
      return connectForm(d, ways[0], st, reconnect);
    }
    const box = el('div', { class: 'ways' });
    const group = el('fieldset', { class: 'way-choice' }, el('legend', { text: 'How to connect' }));
    const slot = el('div');
    ways.forEach((a, i) => {
      const id = 'way-' + a.kind;
      const input = el('input', { type: 'radio', name: 'way', id, value: a.kind, checked: i === 0 });
      input.addEventListener('change', () => slot.replaceChildren(connectForm(d, a, st, reconnect)));
      group.append(el('div', { class: 'field check' }, input, el('label', { for: id, text: wayLabel(d, a) })));
    });
    slot.append(connectForm(d, ways[0], st, reconnect));
    box.append(group, slot);
    return box;
  }

  function wayLabel(d, a) {
    switch (a.kind) {
      case 'oauth2':
      case 'oauth1':
        return 'Sign in at ' + d.name + ' (' + AUTH_LABELS[a.kind] + ')';
      case 'api_key':
        return 'API key';
      case 'basic':
        return 'User name and password';
      case 'oauth2_cc':
        return 'Client id and secret (OAuth 2.0 client credentials)';
      default:
        return AUTH_LABELS[a.kind] || a.kind;
    }
  }

  function paramFields(d, a, form) {
    const optional = new Set(a.optional_connection_params || []);
    const options = a.connection_param_options || {};
    for (const p of a.connection_params || []) {
      const id = 'param-' + p;
      const places = whereUsed(d, a, 'connection', p);
      const hint = (places.length ? 'Goes into ' + joinPlaces(places) + '.' : 'Kept with the connection.') +
        (options[p] && options[p].length ? '' : optional.has(p) ? ' Leave it empty unless you need it.' : '');
      let input;
      const common = { id, name: p, 'data-param': p, required: !optional.has(p), 'aria-describedby': id + '-hint' };
      if (options[p] && options[p].length) {
        input = el('select', common);
        for (const v of options[p]) {
          input.append(el('option', { value: v, text: v }));
        }
      } else {
        input = el('input', Object.assign({ type: 'text', autocomplete: 'off', spellcheck: 'false' }, common));
      }
      form.append(el('div', { class: 'field' }, el('label', { for: id, text: humanize(p) + (optional.has(p) ? ' (optional)' : '') }), input, fieldHint(id, hint)));
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

  function connectForm(d, a, st, reconnect) {
    const kind = a.kind || 'none';
    const form = el('form', { id: 'connect-form', class: 'stack', novalidate: false });
    const err = el('p', { id: 'connect-error', class: 'error', role: 'alert', hidden: true });
    if (kind === 'none') {
      return el('p', { class: 'muted', text: 'This integration needs no credentials.' });
    }
    const verb = reconnect ? 'Reconnect ' : 'Connect ';
    if (kind === 'oauth2' || kind === 'oauth1') {
      const app = st.oauth_app || { configured: true };
      const wrap = el('div', { class: 'stack' });
      wrap.append(oauthAppBox(d, app));
      if (!app.configured) {
        return wrap;
      }
      form.append(el('p', { text: 'You sign in at ' + d.name + ' in a new window and approve access' + ((a.scopes || []).length ? ' (' + a.scopes.join(', ') + ')' : '') + '.' }));
      paramFields(d, a, form);
      form.append(el('button', { type: 'submit', class: 'primary', id: 'connect-submit', text: verb + d.name }), err);
      form.addEventListener('submit', (e) => { e.preventDefault(); startOAuth(d, form, err); });
      wrap.prepend(form);
      return wrap;
    }
    let fields = (a.credential_fields || []).slice();
    if (!fields.length) {
      fields = { api_key: ['apiKey'], basic: ['username', 'password'], oauth2_cc: ['client_id', 'client_secret'] }[kind] || [];
    }
    const listed = new Set(a.credential_fields || []);
    for (const f of fields) {
      const id = 'cred-' + f;
      let label = humanize(f);
      let hint;
      let required = true;
      if (kind === 'api_key') {
        label = fields.length === 1 ? 'API key' : label;
        hint = keyPlacement(d, a, f);
      } else if (kind === 'basic') {
        label = f === 'username' ? 'User name' : f === 'password' ? 'Password' : label;
        required = f !== 'password' || listed.has('password');
        hint = f === 'username' || f === 'password'
          ? 'Sent with every request as HTTP Basic authentication.'
          : 'Goes into ' + (joinPlaces(whereUsed(d, a, 'credentials', f)) || 'the connection') + '.';
      } else if (kind === 'oauth2_cc') {
        label = f === 'client_id' ? 'Client id' : f === 'client_secret' ? 'Client secret' : label;
        hint = 'Sent to ' + d.name + '\'s token endpoint to get an access token; requests then carry the token.';
      } else {
        const places = whereUsed(d, a, 'credentials', f);
        hint = places.length ? 'Goes into ' + joinPlaces(places) + '.' : 'Kept with the connection for the provider\'s plugin.';
      }
      form.append(el('div', { class: 'field' },
        el('label', { for: id, text: label + (required ? '' : ' (optional)') }),
        el('input', { id, name: f, 'data-cred': f, type: secretField(f) ? 'password' : 'text', autocomplete: 'off', spellcheck: 'false', required, 'aria-describedby': id + '-hint' }),
        fieldHint(id, hint)));
    }
    paramFields(d, a, form);
    form.append(el('button', { type: 'submit', class: 'primary', id: 'connect-submit', text: verb + d.name }), err);
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      err.hidden = true;
      const body = { auth_kind: kind, fields: {}, params: collectParams(form) };
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

  // oauthAppBox says which OAuth app a connect uses and lets the tenant
  // register, replace or remove its own. Without any app it shows the
  // host's own message and the form, open.
  function oauthAppBox(d, app) {
    const box = el('section', { class: 'oauth-app', id: 'oauth-app', 'aria-labelledby': 'oauth-app-title' }, el('h4', { id: 'oauth-app-title', text: 'OAuth app' }));
    const form = el('form', { id: 'oauth-app-form', class: 'stack' });
    const err = el('p', { id: 'oauth-app-error', class: 'error', role: 'alert', hidden: true });
    form.append(
      el('p', { class: 'hint', text: 'Create an OAuth app in ' + d.name + '\'s developer settings with this redirect URI, then enter its client id and secret. The secret is stored encrypted and never shown again.' }),
      el('p', {}, el('code', { id: 'redirect-uri', text: app.redirect_uri || '' })),
      el('div', { class: 'field' }, el('label', { for: 'app-client-id', text: 'Client id' }),
        el('input', { id: 'app-client-id', type: 'text', autocomplete: 'off', spellcheck: 'false', required: true })),
      el('div', { class: 'field' }, el('label', { for: 'app-client-secret', text: 'Client secret' }),
        el('input', { id: 'app-client-secret', type: 'password', autocomplete: 'off', spellcheck: 'false', required: true })),
      el('button', { type: 'submit', class: app.configured ? '' : 'primary', id: 'save-oauth-app', text: 'Save OAuth app' }), err);
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      err.hidden = true;
      const btn = form.querySelector('#save-oauth-app');
      btn.disabled = true;
      try {
        await call('PUT', '/api/v1/oauth-apps/' + enc(d.id), { client_id: $('app-client-id').value.trim(), client_secret: $('app-client-secret').value });
        announce('OAuth app saved for ' + d.name + '.');
        await refreshAll();
      } catch (ex) {
        btn.disabled = false;
        err.textContent = 'Not saved: ' + ex.message;
        err.hidden = false;
      }
    });
    if (!app.configured) {
      box.classList.add('missing');
      box.append(
        el('p', { id: 'oauth-app-state', text: 'No OAuth app is configured for ' + d.name + ' on this host, so it cannot be connected yet. Register your own below.' }),
        el('p', { class: 'hint', id: 'oauth-app-message', text: 'The host says: ' + (app.message || 'no OAuth app') }),
        form);
      return box;
    }
    const toggle = el('button', { type: 'button', id: 'own-oauth-app', text: app.source === 'tenant' ? 'Replace your OAuth app' : 'Use your own OAuth app' });
    form.hidden = true;
    toggle.addEventListener('click', () => { form.hidden = false; toggle.hidden = true; $('app-client-id').focus(); });
    const actions = el('div', { class: 'row' }, toggle);
    if (app.source === 'tenant') {
      box.append(el('p', { id: 'oauth-app-state' }, 'Connect uses your own OAuth app, client id ', el('code', { text: app.client_id || '' }), '.'));
      const remove = el('button', { type: 'button', id: 'remove-oauth-app', class: 'danger', text: 'Remove' });
      remove.addEventListener('click', async () => {
        remove.disabled = true;
        try {
          await call('DELETE', '/api/v1/oauth-apps/' + enc(d.id));
          announce('OAuth app removed for ' + d.name + '.');
          await refreshAll();
        } catch (ex) {
          remove.disabled = false;
          showAlert(ex.message);
        }
      });
      actions.append(remove);
    } else {
      box.append(el('p', { id: 'oauth-app-state', text: 'Connect uses this host\'s OAuth app for ' + d.name + '.' }));
    }
    box.append(actions, form);
    return box;
  }

  // startOAuth opens the popup at once (inside the click, so it is not
  // blocked), asks the host for the authorization URL and sends the popup
  // there. Without a popup the whole page goes, and comes back with
  // ?success= or ?error=. The form is only offered when an OAuth app is
  // configured, so no popup opens for a flow that cannot start.
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
      // The host's own message names what to set; the page's text is
      // only for codes that come back without one.
      err.textContent = e.message && e.code !== 'csrf_failed' ? e.message : errorText(e.code, e.message);
      err.hidden = false;
      if (e.code === 'not_configured') {
        refreshAll();
      }
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

  // ---- triggers -------------------------------------------------------

  // The panel's "Triggers" section lists the connection's trigger
  // instances, creates one from a runnable trigger's input schema, deletes
  // one, and shows the recent events of the connection's triggers. It
  // follows new events with the cursor API (GET /api/v1/events?trigger=
  // &order=desc&after=) while the panel is open. Event payloads come from the
  // provider: they are only ever written with textContent.

  // How often the open panel looks for new events and trigger changes.
  const WATCH_MS = 1500;
  // How many events "Recent events" shows.
  const RECENT_EVENTS = 20;

  const KIND_LABELS = { polling: 'polling', webhook: 'webhook', app_webhook: 'app webhook' };

  function stopEvents() {
    window.clearTimeout(state.watchTimer);
    state.watchTimer = 0;
    state.watch = null;
  }

  function triggersSection(d, st) {
    stopEvents();
    const sec = el('section', { class: 'triggers', id: 'triggers', 'aria-labelledby': 'triggers-title' },
      el('h3', { id: 'triggers-title', text: 'Triggers' }));
    const list = el('div', { id: 'trigger-list' }, el('p', { class: 'muted', text: 'Loading triggers…' }));
    const create = el('div', { id: 'trigger-create' });
    const evList = el('ol', { id: 'event-list', class: 'event-list' });
    const empty = el('p', { id: 'events-empty', class: 'muted', text: 'No events yet.' });
    const evError = el('p', { id: 'events-error', class: 'error', hidden: true });
    const events = el('div', { class: 'events', id: 'events', 'aria-live': 'polite' },
      el('h4', { id: 'events-title', text: 'Recent events' }), evError, empty, evList);
    sec.append(list, create, events);
    const w = {
      d, conn: st.connection, connected: st.connected, sec, list, create, events, evList, empty, evError,
      triggers: [], sig: '', confirming: '', runnable: null, cursors: new Map(), items: [], nodes: new Map(),
    };
    state.watch = w;
    watchTriggers(w, true);
    return sec;
  }

  function watching(w) {
    return state.watch === w && document.contains(w.sec);
  }

  // watchTriggers reloads the connection's triggers and their new events,
  // then comes back after WATCH_MS while the section is shown.
  async function watchTriggers(w, first) {
    window.clearTimeout(state.watchTimer);
    if (document.hidden && !first) {
      // A background tab asks nothing; it catches up when shown again.
      state.watchTimer = window.setTimeout(() => watchTriggers(w, false), WATCH_MS);
      return;
    }
    try {
      await loadTriggers(w, first);
      if (!watching(w)) {
        return;
      }
      await loadEvents(w);
      w.evError.hidden = true;
    } catch (e) {
      if (!watching(w)) {
        return;
      }
      if (e.status === 503 && first) {
        w.list.replaceChildren(el('p', { class: 'muted', text: 'Triggers are not available on this host.' }));
        w.events.hidden = true;
        return;
      }
      w.evError.textContent = 'Could not load triggers and events: ' + e.message;
      w.evError.hidden = false;
    }
    if (watching(w)) {
      window.clearTimeout(state.watchTimer);
      state.watchTimer = window.setTimeout(() => watchTriggers(w, false), WATCH_MS);
    }
  }

  async function loadTriggers(w, first) {
    const [res, cat] = await Promise.all([
      call('GET', '/api/v1/triggers?connection_id=' + enc(w.conn.id) + '&limit=1000'),
      w.runnable === null && w.connected ? call('GET', '/api/v1/catalog/' + enc(w.d.id)).catch(() => null) : Promise.resolve(null),
    ]);
    if (!watching(w)) {
      return;
    }
    w.triggers = (res && res.triggers) || [];
    renderTriggerList(w);
    if (w.runnable === null && w.connected) {
      w.runnable = (cat && cat.triggers) || [];
      renderTriggerForm(w);
    }
    if (first && !w.connected) {
      w.create.replaceChildren(el('p', { class: 'hint', text: 'Connect again to create triggers; those below run again once the connection is active.' }));
    }
  }

  function triggerLabel(w, name) {
    const r = (w.runnable || []).find((t) => t.name === name);
    return r && r.display_name ? r.display_name : name;
  }

  function renderTriggerList(w) {
    const sig = JSON.stringify(w.triggers.map((t) => [t.id, t.status, t.last_event_at, t.last_error]));
    if ((sig === w.sig && w.list.querySelector('ul, #no-triggers')) || w.confirming) {
      return;
    }
    w.sig = sig;
    if (!w.triggers.length) {
      w.list.replaceChildren(el('p', { class: 'muted', id: 'no-triggers', text: 'No triggers on this connection yet.' }));
      return;
    }
    const ul = el('ul', { class: 'trigger-items', 'aria-label': 'Triggers of this ' + w.d.name + ' connection' });
    for (const t of w.triggers) {
      const main = el('div', { class: 'trigger-main' }, el('span', { class: 'trigger-name', text: triggerLabel(w, t.trigger) }),
        el('span', { class: 'hint', text: ' ' + (KIND_LABELS[t.kind] || t.kind) }), el('code', { class: 'trigger-id', text: t.id }));
      const times = el('dl', { class: 'meta trigger-times' },
        el('dt', { text: 'Created' }), el('dd', { text: fmtShort(t.created_at) }),
        el('dt', { text: 'Last event' }), el('dd', { class: 'last-event', text: t.last_event_at ? fmtShort(t.last_event_at) : '—' }));
      if (t.last_error) {
        times.append(el('dt', { text: 'Error' }), el('dd', { class: 'wrap', text: t.last_error }));
      }
      main.append(times);
      const del = el('button', { type: 'button', class: 'danger delete-trigger', 'aria-label': 'Delete trigger ' + t.id, text: 'Delete' });
      const side = el('div', { class: 'trigger-side' },
        el('span', { class: 'state trigger-status', 'data-state': t.status, text: t.status === 'active' ? 'Active' : capital(t.status) }), del);
      del.addEventListener('click', () => confirmDelete(w, t, side, del));
      ul.append(el('li', { class: 'trigger', 'data-id': t.id }, main, side));
    }
    w.list.replaceChildren(ul);
  }

  function confirmDelete(w, t, cell, del) {
    w.confirming = t.id;
    const yes = el('button', { type: 'button', class: 'danger', id: 'confirm-delete-trigger', text: 'Yes, delete' });
    const no = el('button', { type: 'button', id: 'cancel-delete-trigger', text: 'Cancel' });
    const box = el('div', { class: 'confirm', role: 'group' }, el('p', { text: 'Delete this trigger? A webhook trigger is unregistered at the provider first.' }), yes, no);
    del.hidden = true;
    cell.closest('li').append(box);
    yes.focus();
    const done = () => {
      w.confirming = '';
      w.sig = '';
      renderTriggerList(w);
    };
    no.addEventListener('click', () => {
      done();
      const b = w.list.querySelector('li[data-id="' + CSS.escape(t.id) + '"] .delete-trigger');
      if (b) {
        b.focus();
      }
    });
    yes.addEventListener('click', async () => {
      yes.disabled = true;
      try {
        const res = await call('DELETE', '/api/v1/triggers/' + enc(t.id));
        announce(res && res.unregistered === false ? 'Trigger deleted; the provider refused to unregister its webhook.' : 'Trigger deleted.');
        w.triggers = w.triggers.filter((x) => x.id !== t.id);
        w.cursors.delete(t.id);
      } catch (e) {
        showAlert('Could not delete the trigger: ' + e.message);
      }
      done();
      watchTriggers(w, false);
    });
  }

  function renderTriggerForm(w) {
    const runnable = w.runnable || [];
    if (!runnable.length) {
      w.create.replaceChildren(el('p', { class: 'muted', id: 'no-runnable-triggers', text: w.d.name + ' has no triggers that run on this host.' }));
      return;
    }
    const select = el('select', { id: 'trigger-select' });
    for (const t of runnable) {
      select.append(el('option', { value: t.name, text: (t.display_name || t.name) + ' (' + (KIND_LABELS[t.kind] || t.kind) + ')' }));
    }
    const desc = el('p', { id: 'trigger-desc', class: 'hint' });
    const fields = el('div', { id: 'trigger-fields', class: 'stack' });
    const interval = el('input', { type: 'number', id: 'trigger-interval', min: '1', step: '1', placeholder: 'host default' });
    const intervalField = el('div', { class: 'field' }, el('label', { for: 'trigger-interval', text: 'Poll every (seconds)' }), interval,
      el('p', { class: 'hint', text: 'Empty: the host\'s default interval.' }));
    const deliver = el('input', { type: 'checkbox', id: 'trigger-deliver', checked: true });
    const deliverField = el('div', { class: 'field check' }, deliver, el('label', { for: 'trigger-deliver', text: 'Also deliver the events to my webhook URL' }));
    const submit = el('button', { type: 'submit', class: 'primary', id: 'create-trigger', text: 'Create trigger' });
    const out = el('div', { id: 'trigger-result', class: 'result', 'aria-live': 'polite' });
    const form = el('form', { id: 'trigger-form', class: 'stack' }, el('h4', { text: 'New trigger' }),
      el('div', { class: 'field' }, el('label', { for: 'trigger-select', text: 'Trigger' }), select), desc, fields, intervalField, deliverField, submit);
    let required = new Set();
    const show = () => {
      const t = runnable.find((x) => x.name === select.value);
      const schema = t.input_schema || {};
      required = new Set(schema.required || []);
      desc.textContent = t.description || '';
      fields.replaceChildren();
      for (const [name, s] of Object.entries(schema.properties || {})) {
        fields.append(...schemaField('trigger-in-', name, s || {}, required));
      }
      intervalField.hidden = t.kind !== 'polling';
    };
    select.addEventListener('change', show);
    show();
    form.onsubmit = async (e) => {
      e.preventDefault();
      out.replaceChildren();
      const t = runnable.find((x) => x.name === select.value);
      let input;
      try {
        input = collectInput(fields, required);
      } catch (ex) {
        out.append(el('p', { class: 'error', role: 'alert', text: ex.message }));
        return;
      }
      const body = { connection_id: w.conn.id, trigger: t.name, input, delivery: { webhook: deliver.checked } };
      if (t.kind === 'polling' && interval.value.trim()) {
        const n = Number(interval.value);
        if (!Number.isInteger(n) || n < 1) {
          out.append(el('p', { class: 'error', role: 'alert', text: 'The interval must be a whole number of seconds.' }));
          return;
        }
        body.interval_seconds = n;
      }
      submit.disabled = true;
      try {
        const res = await call('POST', '/api/v1/triggers', body);
        const parts = [el('p', { id: 'trigger-created', text: 'Created ' + (t.display_name || t.name) + ' (' + res.id + ').' })];
        if (res.hook_url) {
          parts.push(el('p', { class: 'hint', text: 'Its webhook URL, registered with the provider (shown once):' }),
            el('pre', { id: 'hook-url', tabindex: '0', text: res.hook_url }));
        }
        out.replaceChildren(...parts);
        announce('Trigger created.');
        await watchTriggers(w, false);
      } catch (ex) {
        out.replaceChildren(el('p', { class: 'error', role: 'alert', text: 'Failed: ' + ex.message + (ex.body && ex.body.error && ex.body.error.field ? ' (' + ex.body.error.field + ')' : '') }));
      } finally {
        submit.disabled = false;
      }
    };
    w.create.replaceChildren(form, out);
  }

  // loadEvents reads the newest events of each trigger after the last
  // one seen (order=desc: one request per trigger, however many events
  // came) and keeps the RECENT_EVENTS newest; the cursor orders the
  // tenant's events.
  async function loadEvents(w) {
    let changed = !w.loaded;
    w.loaded = true;
    for (const t of w.triggers) {
      const after = w.cursors.get(t.id) || '0';
      let res;
      try {
        res = await call('GET', '/api/v1/events?trigger=' + enc(t.id) + '&order=desc&after=' + enc(after) + '&limit=' + RECENT_EVENTS);
      } catch (e) {
        if (e.status === 404) {
          continue; // deleted meanwhile
        }
        throw e;
      }
      if (!watching(w)) {
        return;
      }
      const have = new Set(w.items.map((x) => x.id));
      const fresh = ((res && res.events) || []).filter((x) => !have.has(x.id));
      if (fresh.length) {
        w.items = w.items.concat(fresh).sort((a, b) => Number(b.cursor) - Number(a.cursor)).slice(0, RECENT_EVENTS);
        changed = true;
      }
      w.cursors.set(t.id, (res && res.next_cursor) || after);
    }
    if (changed) {
      renderEvents(w);
    }
  }

  function renderEvents(w) {
    const nodes = new Map();
    const items = w.items.map((ev) => {
      const n = w.nodes.get(ev.id) || eventItem(w, ev);
      nodes.set(ev.id, n);
      return n;
    });
    w.nodes = nodes;
    w.evList.replaceChildren(...items);
    w.empty.hidden = items.length > 0;
  }

  function eventItem(w, ev) {
    let json;
    try {
      json = JSON.stringify(ev.data, null, 2);
    } catch (e) {
      json = String(ev.data);
    }
    const t = w.triggers.find((x) => x.id === ev.source);
    return el('li', { class: 'event', 'data-id': ev.id },
      el('div', { class: 'event-head' },
        el('time', { class: 'event-time', datetime: ev.created_at, text: fmtShort(ev.created_at) }),
        el('span', { class: 'event-type', text: ev.type }),
        t ? el('span', { class: 'hint', text: triggerLabel(w, t.trigger) }) : null),
      el('code', { class: 'event-id', text: ev.id }),
      el('details', { class: 'event-payload' }, el('summary', { text: 'Payload' }), el('pre', { class: 'payload', tabindex: '0', text: json })));
  }

  // ---- actions --------------------------------------------------------

  function actionSection(d) {
    const sec = el('section', { class: 'actions', 'aria-labelledby': 'actions-title' }, el('h3', { id: 'actions-title', text: 'Try an action' }));
    const status = el('p', { class: 'muted', text: 'Loading actions…' });
    sec.append(status);
    call('GET', '/api/v1/integrations/' + enc(d.id) + '/actions').then((res) => {
      // Typed actions first, in the provider's order; the raw API call last.
      const all = (res && res.actions) || [];
      const actions = all.filter((a) => a.name !== 'custom_api_call').concat(all.filter((a) => a.name === 'custom_api_call'));
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
      // A JS piece's dropdowns load their options through list_options.
      const withOptions = all.some((x) => x.name === 'list_options');
      const show = () => {
        const a = actions.find((x) => x.name === select.value);
        desc.textContent = a.description || '';
        buildActionForm(d, a, form, out, withOptions);
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

  // dropdownField is a select whose options a JS piece's options() gives
  // (the list_options action), loaded on demand with the form's other
  // values, which the dropdown may depend on.
  function dropdownField(d, a, form, name, common, label, hint) {
    const input = el('select', Object.assign({ 'data-json': 'true' }, common));
    input.append(el('option', { value: '', text: '—' }));
    const msg = el('p', { class: 'hint', id: common.id + '-options', 'aria-live': 'polite' });
    const load = el('button', { type: 'button', id: 'load-' + name, text: 'Load options' });
    load.addEventListener('click', async () => {
      load.disabled = true;
      msg.textContent = 'Loading…';
      let props = {};
      try {
        props = collectInput(form, new Set());
      } catch (e) {
        props = {};
      }
      delete props[name];
      try {
        const res = await call('POST', '/api/v1/integrations/' + enc(d.id) + '/actions/list_options', { input: { action: a.name, prop: name, props } });
        const o = (res && res.output) || {};
        input.replaceChildren(el('option', { value: '', text: '—' }));
        for (const opt of o.options || []) {
          input.append(el('option', { value: JSON.stringify(opt.value), text: String(opt.label === undefined ? opt.value : opt.label) }));
        }
        msg.textContent = o.disabled ? (o.placeholder || 'No options yet.') : (o.options || []).length + ' options';
      } catch (ex) {
        msg.textContent = 'Could not load options: ' + ex.message;
      } finally {
        load.disabled = false;
      }
    });
    return el('div', { class: 'field' }, label, el('div', { class: 'row' }, input, load), hint, msg);
  }

  // schemaField is the form field of one property of an input schema
  // (an action's or a trigger's): its id is prefix + name, and
  // collectInput reads it back by its data-input and data-type.
  function schemaField(prefix, name, s, required, value) {
    const id = prefix + name;
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
      return [el('div', { class: 'field check' }, input, label), hint].filter(Boolean);
    } else if (type === 'number' || type === 'integer') {
      input = el('input', Object.assign({ type: 'number', step: type === 'integer' ? '1' : 'any', value: s.default !== undefined ? String(s.default) : null }, common));
    } else if (type === 'string') {
      if (value === null || value === undefined) {
        value = s.default !== undefined ? String(s.default) : null;
      }
      input = el('input', Object.assign({ type: 'text', autocomplete: 'off', spellcheck: 'false', value, placeholder: name === 'path' ? '/v1/…' : null }, common));
    } else {
      input = el('textarea', Object.assign({ rows: '3', spellcheck: 'false', placeholder: { array: '[ ]', object: '{ }' }[type] || 'JSON or text' }, common));
      if (s.default !== undefined) {
        input.value = JSON.stringify(s.default);
      }
    }
    return [el('div', { class: 'field' }, label, input, hint)];
  }

  function buildActionForm(d, a, form, out, withOptions) {
    form.replaceChildren();
    out.replaceChildren();
    const schema = a.input_schema || {};
    const props = schema.properties || {};
    const example = a.name === 'custom_api_call' ? examplePath(d) : '';
    const required = new Set(schema.required || []);
    for (const [name, s] of Object.entries(props)) {
      if (withOptions && s['x-atom-dynamic-options'] && schemaType(s) !== 'array') {
        const id = 'in-' + name;
        const hint = s.description ? el('p', { id: id + '-hint', class: 'hint', text: s.description }) : null;
        const label = el('label', { for: id, text: (s.title || name) + (required.has(name) ? ' (required)' : '') });
        const common = { id, name, 'data-input': name, 'data-type': schemaType(s), 'aria-describedby': hint ? id + '-hint' : null };
        form.append(dropdownField(d, a, form, name, common, label, hint));
        continue;
      }
      form.append(...schemaField('in-', name, s, required, example && name === 'path' ? example : null));
    }
    if (!Object.keys(props).length) {
      form.append(el('p', { class: 'muted', text: 'This action takes no input.' }));
    }
    if (a.name === 'custom_api_call') {
      const base = ((d.api || {}).base_url || '').replace(/\{\{\s*connection\.([A-Za-z0-9_]+)[^}]*\}\}/g, '<$1>');
      form.insertBefore(el('p', { class: 'hint', id: 'call-example', text: (base ? 'The path is relative to ' + base + '. ' : '') +
        (example ? 'Example from the catalog: GET ' + example + ' (the request Atom uses to check a connection).' : 'See the provider\'s API reference for paths.') }), form.firstChild);
      const m = form.querySelector('#in-method');
      if (example && m && !m.value) {
        m.value = 'GET';
      }
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

  // examplePath is a path the descriptor itself calls: its credential
  // check URL relative to its API base URL (the demo's /me).
  function examplePath(d) {
    const base = ((d.api || {}).base_url || '').replace(/\/+$/, '');
    if (!base) {
      return '';
    }
    for (const a of authWays(d)) {
      const u = a.check_url || '';
      if (u.startsWith(base + '/')) {
        return u.slice(base.length).split('?')[0];
      }
    }
    return '';
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
      if (n.tagName === 'SELECT' && n.dataset.json) {
        input[name] = JSON.parse(v);
      } else if (n.tagName === 'SELECT' || type === 'string') {
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
    if (ms === undefined || ms === null) {
      return '—';
    }
    return ms < 1 ? '< 1 ms' : Math.round(ms) + ' ms';
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
    const table = el('table', { class: 'executions-table' }, el('caption', { class: 'visually-hidden', text: 'Recent executions of ' + d.name }),
      el('thead', {}, el('tr', {}, el('th', { scope: 'col', text: 'When' }), el('th', { scope: 'col', text: 'Action' }),
        el('th', { scope: 'col', text: 'Status' }), el('th', { scope: 'col', text: 'Duration' }))));
    const tb = el('tbody');
    for (const x of items) {
      tb.append(el('tr', {}, el('td', { text: fmtShort(x.created_at) }), el('td', { class: 'wrap', text: x.action || '' }),
        el('td', { text: x.status || '' }), el('td', { text: duration(x) })));
    }
    table.append(tb);
    box.replaceChildren(el('div', { class: 'scroll' }, table));
  }

  start();
})();
