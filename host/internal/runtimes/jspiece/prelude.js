// The globals a JS piece sees, evaluated before its bundle. Everything that
// leaves the sandbox goes through __atom_host(JSON) -> JSON, one host
// function: "fetch", "sleep", "store_get", "store_put".
(function () {
  'use strict';
  var G = globalThis;
  var host = G.__atom_host;
  delete G.__atom_host;
  function call(op) {
    var out = JSON.parse(host(JSON.stringify(op)));
    if (out.error) {
      var e = new Error(out.error.message);
      e.code = out.error.code;
      throw e;
    }
    return out;
  }
  G.global = G;
  // Bundles of Node code refer to these; there is no file system behind them.
  G.__dirname = '/'; G.__filename = '/piece.js';

  // console: each line goes to the host, which records it with the
  // execution (bounded per call there).
  function fmt(v) {
    if (typeof v === 'string') return v;
    if (v instanceof Error) return v.stack ? v.message + '\n' + v.stack : String(v);
    try { return JSON.stringify(v); } catch (e) { return String(v); }
  }
  function logger(level) {
    return function () {
      var msg = Array.prototype.map.call(arguments, fmt).join(' ');
      try { call({ op: 'log', level: level, msg: msg.slice(0, 4096) }); } catch (e) { /* outside a call */ }
    };
  }
  G.console = { log: logger('info'), info: logger('info'), debug: logger('debug'), trace: logger('debug'),
    warn: logger('warn'), error: logger('error'), dir: logger('info'), table: logger('info'),
    time: function () {}, timeEnd: function () {}, group: function () {}, groupEnd: function () {}, assert: function () {} };

  // process: deliberately not Node's (libraries such as axios then choose
  // their fetch adapter).
  G.process = { env: {}, argv: [], version: '', versions: {}, platform: 'atom', browser: true,
    cwd: function () { return '/'; }, emitWarning: function () {}, on: function () { return this; },
    nextTick: function (f) { var a = Array.prototype.slice.call(arguments, 1); Promise.resolve().then(function () { f.apply(null, a); }); },
    hrtime: function (p) { var t = Date.now(); var s = [Math.floor(t / 1000), (t % 1000) * 1e6]; return p ? [s[0] - p[0], s[1] - p[1]] : s; },
    stdout: { write: function (s) { G.console.log(String(s)); } }, stderr: { write: function (s) { G.console.error(String(s)); } } };
  G.process.hrtime.bigint = function () { return BigInt(Date.now()) * 1000000n; };
  G.queueMicrotask = function (f) { Promise.resolve().then(f); };

  // Timers: run in due order when no promise job is pending; waiting for
  // one sleeps in the host, within the call's deadline.
  var timers = [];
  var timerSeq = 0;
  function addTimer(f, ms, args, every) {
    if (typeof f !== 'function') return 0;
    var id = ++timerSeq;
    ms = Math.max(0, Number(ms) || 0);
    timers.push({ id: id, due: Date.now() + ms, seq: id, f: f, args: args, every: every ? Math.max(ms, 1) : 0 });
    return { id: id, ref: function () { return this; }, unref: function () { return this; }, hasRef: function () { return true; },
      refresh: function () { return this; }, [Symbol.toPrimitive]: function () { return id; } };
  }
  function clearTimer(t) {
    var id = t && typeof t === 'object' ? t.id : t;
    for (var i = 0; i < timers.length; i++) if (timers[i].id === id) { timers.splice(i, 1); return; }
  }
  G.setTimeout = function (f, ms) { return addTimer(f, ms, Array.prototype.slice.call(arguments, 2), false); };
  G.setInterval = function (f, ms) { return addTimer(f, ms, Array.prototype.slice.call(arguments, 2), true); };
  G.setImmediate = function (f) { return addTimer(f, 0, Array.prototype.slice.call(arguments, 1), false); };
  G.clearTimeout = G.clearInterval = G.clearImmediate = clearTimer;

  var done = null;
  G.__atom_tick = function () {
    if (done !== null) {
      var out = done;
      done = null;
      if (out.output === undefined && !out.error) out.output = null;
      timers.length = 0;
      return JSON.stringify(out);
    }
    if (timers.length === 0) {
      done = { error: { message: 'the action returned a promise that never settles', code: 'stalled' } };
      return undefined;
    }
    timers.sort(function (a, b) { return a.due - b.due || a.seq - b.seq; });
    var t = timers[0];
    var wait = t.due - Date.now();
    if (wait > 0) call({ op: 'sleep', ms: wait });
    if (t.every) { t.due = Date.now() + t.every; } else { timers.shift(); }
    t.f.apply(null, t.args);
    return undefined;
  };

  // Text encoding (UTF-8 only), base64.
  function TextEncoder() {}
  TextEncoder.prototype.encoding = 'utf-8';
  TextEncoder.prototype.encode = function (s) {
    s = String(s === undefined ? '' : s);
    var out = [];
    for (var i = 0; i < s.length; i++) {
      var c = s.charCodeAt(i);
      if (c >= 0xd800 && c < 0xdc00 && i + 1 < s.length) {
        var d = s.charCodeAt(i + 1);
        if (d >= 0xdc00 && d < 0xe000) { c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00); i++; } else c = 0xfffd;
      } else if (c >= 0xd800 && c < 0xe000) c = 0xfffd;
      if (c < 0x80) out.push(c);
      else if (c < 0x800) out.push(0xc0 | (c >> 6), 0x80 | (c & 63));
      else if (c < 0x10000) out.push(0xe0 | (c >> 12), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
      else out.push(0xf0 | (c >> 18), 0x80 | ((c >> 12) & 63), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
    }
    return new Uint8Array(out);
  };
  function TextDecoder(label) { this.encoding = 'utf-8'; }
  TextDecoder.prototype.decode = function (b) {
    if (b === undefined) return '';
    var u = b instanceof Uint8Array ? b : ArrayBuffer.isView(b) ? new Uint8Array(b.buffer, b.byteOffset, b.byteLength) : new Uint8Array(b);
    var s = '';
    for (var i = 0; i < u.length;) {
      var c = u[i++], n = 0, cp;
      if (c < 0x80) { s += String.fromCharCode(c); continue; }
      else if (c >= 0xf0) { cp = c & 7; n = 3; } else if (c >= 0xe0) { cp = c & 15; n = 2; } else if (c >= 0xc0) { cp = c & 31; n = 1; } else { s += '\ufffd'; continue; }
      if (i + n > u.length) { s += '\ufffd'; break; }
      for (var k = 0; k < n; k++) cp = (cp << 6) | (u[i++] & 63);
      s += String.fromCodePoint(cp);
    }
    return s;
  };
  G.TextEncoder = TextEncoder;
  G.TextDecoder = TextDecoder;
  var B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  G.btoa = function (s) {
    s = String(s);
    var out = '';
    for (var i = 0; i < s.length; i += 3) {
      var a = s.charCodeAt(i), b = s.charCodeAt(i + 1), c = s.charCodeAt(i + 2);
      if (a > 255 || b > 255 || c > 255) throw new Error('btoa: characters outside Latin-1');
      var n = (a << 16) | ((b || 0) << 8) | (c || 0);
      out += B64[n >> 18] + B64[(n >> 12) & 63] + (i + 1 < s.length ? B64[(n >> 6) & 63] : '=') + (i + 2 < s.length ? B64[n & 63] : '=');
    }
    return out;
  };
  G.atob = function (s) {
    s = String(s).replace(/[\s=]/g, '');
    var out = '', bits = 0, acc = 0;
    for (var i = 0; i < s.length; i++) {
      var v = B64.indexOf(s[i]);
      if (v < 0) throw new Error('atob: invalid character');
      acc = (acc << 6) | v; bits += 6;
      if (bits >= 8) { bits -= 8; out += String.fromCharCode((acc >> bits) & 255); }
    }
    return out;
  };
  G.structuredClone = function (v) { return v === undefined ? undefined : JSON.parse(JSON.stringify(v)); };

  // URL and URLSearchParams (the parts libraries use).
  function enc(s) { return encodeURIComponent(s).replace(/%20/g, '+').replace(/[!'()~]/g, function (c) { return '%' + c.charCodeAt(0).toString(16).toUpperCase(); }); }
  function dec(s) { try { return decodeURIComponent(s.replace(/\+/g, ' ')); } catch (e) { return s; } }
  function URLSearchParams(init) {
    this._l = [];
    if (init == null) return;
    if (typeof init === 'string') {
      init = init.replace(/^\?/, '');
      if (init) init.split('&').forEach(function (p) { if (!p) return; var i = p.indexOf('='); this._l.push(i < 0 ? [dec(p), ''] : [dec(p.slice(0, i)), dec(p.slice(i + 1))]); }, this);
    } else if (init instanceof URLSearchParams) { this._l = init._l.map(function (e) { return e.slice(); }); }
    else if (typeof init[Symbol.iterator] === 'function') { for (var e of init) this._l.push([String(e[0]), String(e[1])]); }
    else { Object.keys(init).forEach(function (k) { this._l.push([k, String(init[k])]); }, this); }
  }
  URLSearchParams.prototype = {
    append: function (k, v) { this._l.push([String(k), String(v)]); this._u && this._u._sync(); },
    delete: function (k) { this._l = this._l.filter(function (e) { return e[0] !== k; }); this._u && this._u._sync(); },
    get: function (k) { for (var e of this._l) if (e[0] === k) return e[1]; return null; },
    getAll: function (k) { return this._l.filter(function (e) { return e[0] === k; }).map(function (e) { return e[1]; }); },
    has: function (k) { return this._l.some(function (e) { return e[0] === k; }); },
    set: function (k, v) { var i = this._l.findIndex(function (e) { return e[0] === k; }); if (i < 0) this._l.push([k, String(v)]); else { this._l[i][1] = String(v); this._l = this._l.filter(function (e, j) { return j <= i || e[0] !== k; }); } this._u && this._u._sync(); },
    sort: function () { this._l.sort(function (a, b) { return a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0; }); },
    forEach: function (f, t) { this._l.forEach(function (e) { f.call(t, e[1], e[0], this); }, this); },
    keys: function () { return this._l.map(function (e) { return e[0]; })[Symbol.iterator](); },
    values: function () { return this._l.map(function (e) { return e[1]; })[Symbol.iterator](); },
    entries: function () { return this._l.map(function (e) { return e.slice(); })[Symbol.iterator](); },
    toString: function () { return this._l.map(function (e) { return enc(e[0]) + '=' + enc(e[1]); }).join('&'); },
    get size() { return this._l.length; }
  };
  URLSearchParams.prototype[Symbol.iterator] = URLSearchParams.prototype.entries;
  var URL_RE = /^([a-zA-Z][a-zA-Z0-9+.-]*:)(?:\/\/(?:([^:@\/?#]*)(?::([^@\/?#]*))?@)?(\[[^\]]*\]|[^:\/?#]*)(?::(\d*))?)?([^?#]*)(\?[^#]*)?(#.*)?$/;
  var DEFAULT_PORTS = { 'http:': '80', 'https:': '443', 'ws:': '80', 'wss:': '443', 'ftp:': '21' };
  function normPath(p) {
    var out = [];
    p.split('/').forEach(function (s, i, a) {
      if (s === '..') { if (out.length > 1) out.pop(); if (i === a.length - 1) out.push(''); }
      else if (s === '.') { if (i === a.length - 1) out.push(''); }
      else out.push(s);
    });
    var r = out.join('/');
    return r.charAt(0) === '/' ? r : '/' + r;
  }
  function URL(u, base) {
    u = String(u).trim();
    var m = URL_RE.exec(u);
    if (!m) {
      if (base === undefined) throw new TypeError('Invalid URL: ' + u);
      var b = base instanceof URL ? base : new URL(base);
      var path = b.pathname, search = b.search, hash = '';
      var hi = u.indexOf('#'); if (hi >= 0) { hash = u.slice(hi); u = u.slice(0, hi); }
      var qi = u.indexOf('?'); var q = null; if (qi >= 0) { q = u.slice(qi); u = u.slice(0, qi); }
      if (u.slice(0, 2) === '//') return new URL(b.protocol + u + (q || '') + hash);
      if (u === '') { if (q !== null) search = q; }
      else { path = u.charAt(0) === '/' ? u : path.replace(/[^\/]*$/, '') + u; search = q || ''; }
      return new URL(b.protocol + '//' + (b.username ? b.username + (b.password ? ':' + b.password : '') + '@' : '') + b.host + normPath(path) + search + hash);
    }
    this.protocol = m[1].toLowerCase();
    this.username = m[2] || '';
    this.password = m[3] || '';
    this.hostname = (m[4] || '').toLowerCase();
    this.port = m[5] && m[5] !== DEFAULT_PORTS[this.protocol] ? m[5] : '';
    var special = this.protocol in DEFAULT_PORTS;
    this.pathname = m[4] !== undefined ? normPath(m[6] || '/') : (m[6] || '');
    this.pathname = this.pathname.replace(/[ "<>`{}]/g, function (c) { return encodeURIComponent(c); });
    if (special && !this.hostname) throw new TypeError('Invalid URL: ' + u);
    this.hash = m[8] && m[8] !== '#' ? m[8] : '';
    this.searchParams = new URLSearchParams(m[7] || '');
    this._search = m[7] && m[7] !== '?' ? m[7].replace(/ /g, '%20') : '';
    this.searchParams._u = this;
  }
  URL.prototype = {
    _sync: function () { var s = this.searchParams.toString(); this._search = s ? '?' + s : ''; },
    get search() { return this._search; },
    set search(v) { v = String(v); this.searchParams = new URLSearchParams(v); this.searchParams._u = this; this._sync(); },
    get host() { return this.hostname + (this.port ? ':' + this.port : ''); },
    get origin() { return this.protocol + '//' + this.host; },
    get href() { return this.protocol + '//' + (this.username ? this.username + (this.password ? ':' + this.password : '') + '@' : '') + this.host + this.pathname + this._search + this.hash; },
    toString: function () { return this.href; },
    toJSON: function () { return this.href; }
  };
  URL.canParse = function (u, b) { try { new URL(u, b); return true; } catch (e) { return false; } };
  G.URL = URL;
  G.URLSearchParams = URLSearchParams;

  // Events and abort signals.
  function EventTarget() { this._h = {}; }
  EventTarget.prototype.addEventListener = function (t, f) { (this._h[t] = this._h[t] || []).push(f); };
  EventTarget.prototype.removeEventListener = function (t, f) { this._h[t] = (this._h[t] || []).filter(function (g) { return g !== f; }); };
  EventTarget.prototype.dispatchEvent = function (ev) { var self = this; (this._h[ev.type] || []).slice().forEach(function (f) { f.call(self, ev); }); if (typeof this['on' + ev.type] === 'function') this['on' + ev.type](ev); return true; };
  function Event(type) { this.type = type; }
  G.EventTarget = EventTarget; G.Event = Event;
  function AbortSignal() { EventTarget.call(this); this.aborted = false; this.reason = undefined; this.onabort = null; }
  AbortSignal.prototype = Object.create(EventTarget.prototype);
  AbortSignal.prototype.constructor = AbortSignal;
  AbortSignal.prototype.throwIfAborted = function () { if (this.aborted) throw this.reason; };
  AbortSignal.abort = function (r) { var s = new AbortSignal(); s.aborted = true; s.reason = r; return s; };
  AbortSignal.timeout = function (ms) { var c = new AbortController(); setTimeout(function () { c.abort(new Error('timeout')); }, ms); return c.signal; };
  function AbortController() { this.signal = new AbortSignal(); }
  AbortController.prototype.abort = function (r) {
    if (this.signal.aborted) return;
    this.signal.aborted = true;
    this.signal.reason = r === undefined ? Object.assign(new Error('This operation was aborted'), { name: 'AbortError' }) : r;
    this.signal.dispatchEvent(new Event('abort'));
  };
  G.AbortController = AbortController; G.AbortSignal = AbortSignal;

  // Blob and FormData (in-memory, text and bytes only).
  function bytesOf(p) {
    if (p instanceof Uint8Array) return p;
    if (p instanceof ArrayBuffer) return new Uint8Array(p);
    if (ArrayBuffer.isView(p)) return new Uint8Array(p.buffer, p.byteOffset, p.byteLength);
    if (p instanceof Blob) return p._b;
    return new TextEncoder().encode(String(p));
  }
  function Blob(parts, opts) {
    var chunks = (parts || []).map(bytesOf), n = 0;
    chunks.forEach(function (c) { n += c.length; });
    this._b = new Uint8Array(n); n = 0;
    chunks.forEach(function (c) { this._b.set(c, n); n += c.length; }, this);
    this.size = this._b.length; this.type = (opts && opts.type) || '';
  }
  Blob.prototype.text = function () { return Promise.resolve(new TextDecoder().decode(this._b)); };
  Blob.prototype.arrayBuffer = function () { return Promise.resolve(this._b.slice().buffer); };
  G.Blob = Blob;
  function FormData() { this._l = []; }
  FormData.prototype.append = function (k, v, name) { this._l.push([k, v, name]); };
  FormData.prototype.set = function (k, v, name) { this.delete(k); this.append(k, v, name); };
  FormData.prototype.delete = function (k) { this._l = this._l.filter(function (e) { return e[0] !== k; }); };
  FormData.prototype.get = function (k) { for (var e of this._l) if (e[0] === k) return e[1]; return null; };
  FormData.prototype.has = function (k) { return this._l.some(function (e) { return e[0] === k; }); };
  FormData.prototype.entries = function () { return this._l.map(function (e) { return [e[0], e[1]]; })[Symbol.iterator](); };
  FormData.prototype[Symbol.iterator] = FormData.prototype.entries;
  FormData.prototype.forEach = function (f) { this._l.forEach(function (e) { f(e[1], e[0], this); }, this); };
  G.FormData = FormData;

  // WHATWG fetch over the host's outbound client.
  function Headers(init) {
    this._m = {};
    if (init == null) return;
    if (init instanceof Headers) init.forEach(function (v, k) { this.append(k, v); }, this);
    else if (Array.isArray(init)) init.forEach(function (e) { this.append(e[0], e[1]); }, this);
    else Object.keys(init).forEach(function (k) { if (init[k] !== undefined) this.append(k, init[k]); }, this);
  }
  Headers.prototype = {
    append: function (k, v) { k = String(k).toLowerCase(); v = String(v); this._m[k] = k in this._m ? this._m[k] + ', ' + v : v; },
    set: function (k, v) { this._m[String(k).toLowerCase()] = String(v); },
    get: function (k) { k = String(k).toLowerCase(); return k in this._m ? this._m[k] : null; },
    has: function (k) { return String(k).toLowerCase() in this._m; },
    delete: function (k) { delete this._m[String(k).toLowerCase()]; },
    forEach: function (f, t) { Object.keys(this._m).sort().forEach(function (k) { f.call(t, this._m[k], k, this); }, this); },
    entries: function () { var m = this._m; return Object.keys(m).sort().map(function (k) { return [k, m[k]]; })[Symbol.iterator](); },
    keys: function () { return Object.keys(this._m).sort()[Symbol.iterator](); },
    values: function () { var m = this._m; return Object.keys(m).sort().map(function (k) { return m[k]; })[Symbol.iterator](); },
    getSetCookie: function () { var v = this.get('set-cookie'); return v ? [v] : []; }
  };
  Headers.prototype[Symbol.iterator] = Headers.prototype.entries;
  G.Headers = Headers;

  function encodeForm(fd) {
    var boundary = '----atomform' + Math.random().toString(16).slice(2);
    var parts = [];
    fd._l.forEach(function (e) {
      var head = '--' + boundary + '\r\nContent-Disposition: form-data; name="' + e[0] + '"';
      if (e[1] instanceof Blob) head += '; filename="' + (e[2] || 'blob') + '"\r\nContent-Type: ' + (e[1].type || 'application/octet-stream');
      parts.push(head + '\r\n\r\n', e[1] instanceof Blob ? e[1] : String(e[1]), '\r\n');
    });
    parts.push('--' + boundary + '--\r\n');
    return { blob: new Blob(parts), type: 'multipart/form-data; boundary=' + boundary };
  }
  // bodyInit normalizes a body to a string or bytes and a default type.
  function bodyInit(b) {
    if (b == null) return { body: null };
    if (typeof b === 'string') return { body: b, type: 'text/plain;charset=UTF-8' };
    if (b instanceof URLSearchParams) return { body: b.toString(), type: 'application/x-www-form-urlencoded;charset=UTF-8' };
    if (b instanceof FormData) { var f = encodeForm(b); return { body: f.blob._b, type: f.type }; }
    if (b instanceof Blob) return { body: b._b, type: b.type || undefined };
    if (b instanceof ArrayBuffer || ArrayBuffer.isView(b)) return { body: bytesOf(b) };
    return { body: String(b), type: 'text/plain;charset=UTF-8' };
  }
  function Body() {}
  Body.prototype = {
    _bytes: function () {
      if (this.bodyUsed) return Promise.reject(new TypeError('body used already'));
      this.bodyUsed = true;
      var b = this._body;
      return Promise.resolve(b == null ? new Uint8Array(0) : typeof b === 'string' ? new TextEncoder().encode(b) : b);
    },
    text: function () {
      if (typeof this._body === 'string' && !this.bodyUsed) { this.bodyUsed = true; return Promise.resolve(this._body); }
      return this._bytes().then(function (b) { return new TextDecoder().decode(b); });
    },
    json: function () { return this.text().then(JSON.parse); },
    arrayBuffer: function () { return this._bytes().then(function (b) { return b.slice().buffer; }); },
    bytes: function () { return this._bytes().then(function (b) { return b.slice(); }); },
    blob: function () { var t = this.headers.get('content-type') || ''; return this._bytes().then(function (b) { return new Blob([b], { type: t }); }); },
    formData: function () { return Promise.reject(new TypeError('formData() is not supported')); }
  };
  function Request(input, init) {
    init = init || {};
    if (input instanceof Request) {
      this.url = input.url; this.method = input.method; this.headers = new Headers(input.headers); this._body = input._body; this.signal = input.signal;
    } else {
      this.url = String(input instanceof URL ? input.href : input); this.method = 'GET'; this.headers = new Headers(); this._body = null; this.signal = null;
    }
    if (init.method) this.method = String(init.method).toUpperCase();
    if (init.headers) this.headers = new Headers(init.headers);
    if (init.body !== undefined && init.body !== null) {
      var b = bodyInit(init.body);
      this._body = b.body;
      if (b.type && !this.headers.has('content-type')) this.headers.set('content-type', b.type);
    }
    if (init.signal) this.signal = init.signal;
    this.redirect = init.redirect || 'follow';
    this.credentials = 'omit'; this.mode = 'cors'; this.cache = 'default'; this.bodyUsed = false;
    this.body = this._body;
  }
  Request.prototype = Object.create(Body.prototype);
  Request.prototype.clone = function () { return new Request(this); };
  function Response(body, init) {
    init = init || {};
    var b = bodyInit(body);
    this._body = b.body;
    this.status = init.status === undefined ? 200 : init.status;
    this.statusText = init.statusText || '';
    this.headers = new Headers(init.headers);
    if (b.type && !this.headers.has('content-type')) this.headers.set('content-type', b.type);
    this.ok = this.status >= 200 && this.status < 300;
    this.url = init.url || '';
    this.redirected = false; this.type = 'basic'; this.bodyUsed = false;
    this.body = null;
  }
  Response.prototype = Object.create(Body.prototype);
  Response.prototype.clone = function () { return new Response(this._body, { status: this.status, statusText: this.statusText, headers: this.headers, url: this.url }); };
  Response.json = function (v, init) { var r = new Response(JSON.stringify(v), init); r.headers.set('content-type', 'application/json'); return r; };
  Response.error = function () { var r = new Response(null, { status: 0 }); r.type = 'error'; return r; };
  G.Request = Request;
  G.Response = Response;
  function bytesToB64(u) { var s = ''; for (var i = 0; i < u.length; i += 8192) s += String.fromCharCode.apply(null, u.subarray(i, i + 8192)); return G.btoa(s); }
  function b64ToBytes(s) { var bin = G.atob(s), u = new Uint8Array(bin.length); for (var i = 0; i < bin.length; i++) u[i] = bin.charCodeAt(i); return u; }
  G.fetch = function (input, init) {
    var req;
    try { req = new Request(input, init); } catch (e) { return Promise.reject(e); }
    if (req.signal && req.signal.aborted) return Promise.reject(req.signal.reason);
    return new Promise(function (resolve, reject) {
      // Let the caller's synchronous code finish first, as a real fetch does.
      Promise.resolve().then(function () {
        var hdrs = {};
        req.headers.forEach(function (v, k) { hdrs[k] = [v]; });
        var op = { op: 'fetch', url: req.url, method: req.method, headers: hdrs, redirect: req.redirect };
        if (typeof req._body === 'string') op.body = req._body;
        else if (req._body != null) op.body_base64 = bytesToB64(req._body);
        var out;
        try { out = call(op); } catch (e) { reject(new TypeError('fetch failed (' + e.code + '): ' + e.message, { cause: e })); return; }
        var h = new Headers();
        Object.keys(out.headers || {}).forEach(function (k) { (out.headers[k] || []).forEach(function (v) { h.append(k, v); }); });
        var body = out.body_base64 !== undefined ? b64ToBytes(out.body_base64) : (out.body || '');
        var res = new Response(null, { status: out.status, headers: h, url: out.url || req.url });
        res._body = body;
        res.redirected = !!out.redirected;
        resolve(res);
      });
    });
  };

  // XMLHttpRequest over fetch, for libraries that predate fetch adapters
  // (axios before 1.7 in the old @activepieces/framework).
  function XMLHttpRequest() {
    EventTarget.call(this);
    this.readyState = 0; this.status = 0; this.statusText = ''; this.responseText = ''; this.response = null;
    this.responseType = ''; this.responseURL = ''; this.timeout = 0; this.withCredentials = false;
    this.upload = new EventTarget(); this._hdr = {}; this._res = null;
  }
  XMLHttpRequest.prototype = Object.create(EventTarget.prototype);
  XMLHttpRequest.UNSENT = 0; XMLHttpRequest.OPENED = 1; XMLHttpRequest.HEADERS_RECEIVED = 2; XMLHttpRequest.LOADING = 3; XMLHttpRequest.DONE = 4;
  XMLHttpRequest.prototype.open = function (m, u) { this._m = String(m).toUpperCase(); this._u = String(u); this.readyState = 1; };
  XMLHttpRequest.prototype.setRequestHeader = function (k, v) { this._hdr[k] = String(v); };
  XMLHttpRequest.prototype.getAllResponseHeaders = function () { var s = ''; if (this._res) this._res.headers.forEach(function (v, k) { s += k + ': ' + v + '\r\n'; }); return s; };
  XMLHttpRequest.prototype.getResponseHeader = function (k) { return this._res ? this._res.headers.get(k) : null; };
  XMLHttpRequest.prototype.overrideMimeType = function () {};
  XMLHttpRequest.prototype.abort = function () { if (this._done) return; this._aborted = true; this._done = true; this.readyState = 4; this._fire('abort'); this._fire('loadend'); };
  XMLHttpRequest.prototype._fire = function (t) { this.dispatchEvent(new Event(t)); };
  XMLHttpRequest.prototype.send = function (body) {
    var self = this;
    var init = { method: this._m, headers: this._hdr };
    if (body != null && this._m !== 'GET' && this._m !== 'HEAD') init.body = body;
    G.fetch(this._u, init).then(function (res) {
      self._res = res;
      var t = self.responseType;
      var read = t === 'arraybuffer' ? res.arrayBuffer() : t === 'blob' ? res.blob() : res.text();
      return read.then(function (v) {
        if (self._aborted) return;
        self.status = res.status; self.statusText = res.statusText || ''; self.responseURL = res.url;
        if (t === 'json') { try { self.response = JSON.parse(v); } catch (e) { self.response = null; } self.responseText = v; }
        else { self.response = v; if (t === '' || t === 'text') self.responseText = v; }
        self._done = true; self.readyState = 4;
        self._fire('readystatechange'); self._fire('load'); self._fire('loadend');
      });
    }).catch(function (e) {
      if (self._aborted) return;
      self._done = true; self.readyState = 4; self.status = 0; self._error = e;
      G.console.warn('XMLHttpRequest to ' + self._u.replace(/[?#].*$/, '') + ' failed: ' + (e && e.message));
      self._fire('readystatechange'); self._fire('error'); self._fire('loadend');
    });
  };
  G.XMLHttpRequest = XMLHttpRequest;
  G.self = G;

  // require() for Node built-ins the bundles reference: inert stand-ins.
  function EventEmitter() { this._events = {}; }
  EventEmitter.prototype.on = EventEmitter.prototype.addListener = function (e, f) { (this._events[e] = this._events[e] || []).push(f); return this; };
  EventEmitter.prototype.once = function (e, f) { var self = this; function g() { self.off(e, g); f.apply(self, arguments); } return this.on(e, g); };
  EventEmitter.prototype.off = EventEmitter.prototype.removeListener = function (e, f) { this._events[e] = (this._events[e] || []).filter(function (g) { return g !== f; }); return this; };
  EventEmitter.prototype.removeAllListeners = function (e) { if (e) delete this._events[e]; else this._events = {}; return this; };
  EventEmitter.prototype.emit = function (e) { var a = Array.prototype.slice.call(arguments, 1), l = (this._events && this._events[e]) || []; l.slice().forEach(function (f) { f.apply(this, a); }, this); return l.length > 0; };
  EventEmitter.prototype.listenerCount = function (e) { return ((this._events && this._events[e]) || []).length; };
  EventEmitter.prototype.setMaxListeners = function () { return this; };
  EventEmitter.EventEmitter = EventEmitter;
  EventEmitter.defaultMaxListeners = 10;
  function unsupported(name) { return function () { throw new Error(name + ' is not available to pieces'); }; }
  function Stream() { EventEmitter.call(this); }
  Stream.prototype = Object.create(EventEmitter.prototype);
  Stream.prototype.pipe = function (d) { return d; };
  // As in Node, the module is the Stream constructor itself, carrying the
  // stream classes (util.inherits(X, require('stream')) works).
  var stream = Stream;
  Stream.Readable = Stream; Stream.Stream = Stream; Stream.Writable = Stream; Stream.Duplex = Stream; Stream.Transform = Stream; Stream.PassThrough = Stream;
  Stream.pipeline = unsupported('stream.pipeline'); Stream.finished = unsupported('stream.finished');
  // PassThrough buffers what is written until it flows (a 'data' listener,
  // pipe or resume), then emits it and 'end' on later turns, as a paused
  // Node stream does. It carries http.request's bodies (node-fetch pipes
  // responses through one).
  function PassThrough() { Stream.call(this); this._q = []; this._ended = false; this._endEmitted = false; this._flowing = false; this._sched = false; this.readable = true; this.writable = true; }
  PassThrough.prototype = Object.create(Stream.prototype);
  PassThrough.prototype.constructor = PassThrough;
  PassThrough.prototype._flush = function () {
    var self = this;
    if (this._sched || !this._flowing) return;
    this._sched = true;
    Promise.resolve().then(function () {
      self._sched = false;
      while (self._flowing && self._q.length) EventEmitter.prototype.emit.call(self, 'data', self._q.shift());
      if (self._ended && !self._q.length && !self._endEmitted) { self._endEmitted = true; self.readable = false; EventEmitter.prototype.emit.call(self, 'end'); EventEmitter.prototype.emit.call(self, 'close'); }
    });
  };
  PassThrough.prototype.on = PassThrough.prototype.addListener = function (e, f) {
    EventEmitter.prototype.on.call(this, e, f);
    if (e === 'data') { this._flowing = true; }
    if (e === 'data' || e === 'end') this._flush();
    return this;
  };
  PassThrough.prototype.once = function (e, f) { var self = this; function g() { self.off(e, g); f.apply(self, arguments); } return this.on(e, g); };
  PassThrough.prototype.resume = function () { this._flowing = true; this._flush(); return this; };
  PassThrough.prototype.pause = function () { this._flowing = false; return this; };
  PassThrough.prototype.setEncoding = function () { return this; };
  PassThrough.prototype.write = function (c, enc, cb) {
    if (typeof enc === 'function') cb = enc;
    if (c != null) this._q.push(typeof c === 'string' && G.Buffer ? G.Buffer.from(c) : c);
    this._flush();
    if (typeof cb === 'function') cb();
    return true;
  };
  PassThrough.prototype.end = function (c, enc, cb) {
    if (typeof c === 'function') { cb = c; c = null; }
    if (c != null) this.write(c);
    this._ended = true; this.writable = false;
    this._flush();
    if (typeof cb === 'function') cb();
    return this;
  };
  PassThrough.prototype.pipe = function (d) {
    this.on('data', function (c) { d.write(c); });
    this.on('end', function () { if (typeof d.end === 'function') d.end(); });
    return d;
  };
  PassThrough.prototype.destroy = function (e) { this._q = []; this._ended = true; if (e) EventEmitter.prototype.emit.call(this, 'error', e); return this; };
  Stream.PassThrough = PassThrough;
  function inherits(c, p) { c.super_ = p; Object.setPrototypeOf(c.prototype, p.prototype); }
  function promisify(f) { return function () { var a = Array.prototype.slice.call(arguments), self = this; return new Promise(function (res, rej) { a.push(function (e, v) { e ? rej(e) : res(v); }); f.apply(self, a); }); }; }
  function format(f) { var a = Array.prototype.slice.call(arguments, 1), i = 0; return String(f).replace(/%[sdjifoO%]/g, function (m) { if (m === '%%') return '%'; var v = a[i++]; return m === '%j' || m === '%o' || m === '%O' ? JSON.stringify(v) : String(v); }) + (i < a.length ? ' ' + a.slice(i).map(fmt).join(' ') : ''); }
  var util = { inherits: inherits, promisify: promisify, format: format, inspect: function (v) { return fmt(v); }, deprecate: function (f) { return f; },
    debuglog: function () { return function () {}; }, TextEncoder: TextEncoder, TextDecoder: TextDecoder, isDeepStrictEqual: function (a, b) { return JSON.stringify(a) === JSON.stringify(b); },
    types: { isDate: function (v) { return v instanceof Date; }, isRegExp: function (v) { return v instanceof RegExp; }, isUint8Array: function (v) { return v instanceof Uint8Array; } } };
  util.inspect.custom = Symbol.for('nodejs.util.inspect.custom');
  // http.Agent is an EventEmitter, as agent libraries (agentkeepalive)
  // extending it expect; it never opens a socket.
  function Agent(opts) { EventEmitter.call(this); this.options = Object.assign({}, opts); this.requests = {}; this.sockets = {}; this.freeSockets = {}; }
  Agent.prototype = Object.create(EventEmitter.prototype);
  Agent.prototype.constructor = Agent;
  Agent.prototype.destroy = function () {};
  // http.request and https.request over fetch (so over the host), for
  // libraries with no other way out (node-fetch): the request body is
  // gathered until end(), then one fetch; the response is an
  // IncomingMessage-like PassThrough. No sockets, upgrades or trailers;
  // Accept-Encoding is dropped so the body arrives decoded.
  function ClientRequest(proto, opts, cb) {
    PassThrough.call(this);
    var self = this;
    if (typeof cb === 'function') this.once('response', cb);
    var host = opts.hostname || (opts.host ? String(opts.host).replace(/:\d+$/, '') : 'localhost');
    if (host.indexOf(':') >= 0 && host.charAt(0) !== '[') host = '[' + host + ']';
    this.method = String(opts.method || 'GET').toUpperCase();
    this.path = opts.path || '/';
    this._url = (opts.protocol || proto) + '//' + host + (opts.port ? ':' + opts.port : '') + this.path;
    this._h = {};
    var hs = opts.headers || {};
    Object.keys(hs).forEach(function (k) { if (hs[k] !== undefined) self._h[k.toLowerCase()] = hs[k]; });
    this._body = [];
    this._sent = false;
    this.aborted = false;
    if (opts.signal) opts.signal.addEventListener('abort', function () { self.abort(); });
  }
  ClientRequest.prototype = Object.create(PassThrough.prototype);
  ClientRequest.prototype.setHeader = function (k, v) { this._h[String(k).toLowerCase()] = v; return this; };
  ClientRequest.prototype.getHeader = function (k) { return this._h[String(k).toLowerCase()]; };
  ClientRequest.prototype.removeHeader = function (k) { delete this._h[String(k).toLowerCase()]; };
  ClientRequest.prototype.setTimeout = function (ms, f) { if (typeof f === 'function') this.once('timeout', f); return this; };
  ClientRequest.prototype.setNoDelay = ClientRequest.prototype.setSocketKeepAlive = ClientRequest.prototype.flushHeaders = function () {};
  ClientRequest.prototype.write = function (c, enc, cb) {
    if (typeof enc === 'function') cb = enc;
    if (c != null) this._body.push(bytesIn(c, typeof enc === 'string' ? enc : 'utf8'));
    if (typeof cb === 'function') cb();
    return true;
  };
  ClientRequest.prototype.abort = ClientRequest.prototype.destroy = function (e) {
    if (this.aborted) return this;
    this.aborted = true;
    var self = this;
    Promise.resolve().then(function () { EventEmitter.prototype.emit.call(self, 'abort'); if (e) EventEmitter.prototype.emit.call(self, 'error', e); EventEmitter.prototype.emit.call(self, 'close'); });
    return this;
  };
  ClientRequest.prototype.end = function (c, enc, cb) {
    if (typeof c === 'function') { cb = c; c = null; }
    if (c != null) this.write(c, enc);
    if (this._sent) return this;
    this._sent = true;
    var self = this;
    var headers = {};
    Object.keys(this._h).forEach(function (k) {
      if (k === 'accept-encoding' || k === 'connection' || k === 'host' || k === 'content-length') return;
      var v = self._h[k];
      headers[k] = Array.isArray(v) ? v.join(', ') : String(v);
    });
    var n = 0; this._body.forEach(function (b) { n += b.length; });
    var body = null;
    if (n > 0) { body = new Uint8Array(n); n = 0; this._body.forEach(function (b) { body.set(b, n); n += b.length; }); }
    G.fetch(this._url, { method: this.method, headers: headers, body: body, redirect: 'manual' }).then(function (r) {
      return r.arrayBuffer().then(function (buf) {
        if (self.aborted) return;
        var res = new PassThrough();
        res.statusCode = r.status; res.statusMessage = r.statusText || ''; res.headers = {}; res.rawHeaders = [];
        res.httpVersion = '1.1'; res.url = ''; res.complete = true; res.socket = null;
        r.headers.forEach(function (v, k) { res.headers[k] = k === 'set-cookie' ? [v] : v; res.rawHeaders.push(k, v); });
        EventEmitter.prototype.emit.call(self, 'response', res);
        if (buf.byteLength) res.write(G.Buffer ? G.Buffer.from(buf) : new Uint8Array(buf));
        res.end();
      });
    }, function (e) {
      if (!self.aborted) EventEmitter.prototype.emit.call(self, 'error', e);
    });
    if (typeof cb === 'function') cb();
    return this;
  };
  function httpRequester(proto) {
    function request(u, opts, cb) {
      if (typeof u === 'string' || u instanceof URL) {
        var x = new URL(String(u));
        var o = { protocol: x.protocol, hostname: x.hostname.replace(/^\[|\]$/g, ''), port: x.port, path: x.pathname + x.search };
        if (typeof opts === 'function') { cb = opts; opts = {}; }
        opts = Object.assign(o, opts || {});
      } else { cb = opts; opts = u || {}; }
      return new ClientRequest(proto, opts, cb);
    }
    return { request: request, get: function (u, o, cb) { var r = request(u, o, cb); r.end(); return r; } };
  }
  var httpReq = httpRequester('http:'), httpsReq = httpRequester('https:');
  var httpMod = { Agent: Agent, globalAgent: new Agent(), request: httpReq.request, get: httpReq.get, ClientRequest: ClientRequest, IncomingMessage: PassThrough,
    STATUS_CODES: {}, METHODS: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'] };
  var httpsMod = Object.assign({}, httpMod, { request: httpsReq.request, get: httpsReq.get, globalAgent: new Agent() });
  var pathMod = { sep: '/', delimiter: ':', join: function () { return Array.prototype.filter.call(arguments, Boolean).join('/').replace(/\/+/g, '/'); },
    basename: function (p, ext) { var b = String(p).replace(/\/+$/, '').split('/').pop(); return ext && b.endsWith(ext) ? b.slice(0, -ext.length) : b; },
    extname: function (p) { var m = /(\.[^./]*)$/.exec(String(p)); return m ? m[1] : ''; }, dirname: function (p) { var s = String(p).split('/'); s.pop(); return s.join('/') || '.'; },
    resolve: function () { return '/' + Array.prototype.join.call(arguments, '/').replace(/^\/+/, ''); }, normalize: function (p) { return p; }, isAbsolute: function (p) { return String(p).charAt(0) === '/'; } };
  pathMod.posix = pathMod;
  // Randomness comes from the host: instances cloned from one snapshot
  // must not share a generator's state.
  function hostRandom(n) {
    var out = call({ op: 'random', n: n });
    var bin = G.atob(out.b64), u = new Uint8Array(n);
    for (var i = 0; i < n; i++) u[i] = bin.charCodeAt(i);
    return u;
  }
  function getRandomValues(a) {
    if (!ArrayBuffer.isView(a) || a.byteLength > 65536) throw new TypeError('getRandomValues: a typed array of at most 65536 bytes');
    var u = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
    u.set(hostRandom(u.length));
    return a;
  }
  function randomBytes(n) { return getRandomValues(new Uint8Array(n)); }
  var loadRandom = Math.random, rs = null;
  function rotl(x, k) { return (x << k) | (x >>> (32 - k)); }
  Math.random = function () {
    if (rs === null) {
      var b;
      try { b = hostRandom(16); } catch (e) { return loadRandom(); }
      rs = new Uint32Array(b.buffer);
      if ((rs[0] | rs[1] | rs[2] | rs[3]) === 0) rs[0] = 1;
    }
    var r = Math.imul(rotl(Math.imul(rs[1], 5), 7), 9) >>> 0, t = rs[1] << 9;
    rs[2] ^= rs[0]; rs[3] ^= rs[1]; rs[1] ^= rs[2]; rs[0] ^= rs[3]; rs[2] ^= t; rs[3] = rotl(rs[3], 11);
    return r / 4294967296;
  };
  // Hashes and HMACs: the bytes are gathered in the guest and digested by
  // the host (Go's crypto) in one call at digest().
  function bytesIn(d, enc) {
    if (typeof d !== 'string') return bytesOf(d);
    enc = String(enc || 'utf8').toLowerCase();
    if (enc === 'hex') { var h = new Uint8Array(d.length >> 1); for (var i = 0; i < h.length; i++) h[i] = parseInt(d.substr(i * 2, 2), 16); return h; }
    if (enc === 'base64' || enc === 'base64url') return b64ToBytes(d.replace(/-/g, '+').replace(/_/g, '/'));
    if (enc === 'latin1' || enc === 'binary' || enc === 'ascii') { var l = new Uint8Array(d.length); for (var j = 0; j < d.length; j++) l[j] = d.charCodeAt(j) & 255; return l; }
    return new TextEncoder().encode(d);
  }
  function bytesOut(u, enc) {
    enc = enc && String(enc).toLowerCase();
    if (enc === 'hex') return Array.prototype.map.call(u, function (x) { return (x + 256).toString(16).slice(1); }).join('');
    if (enc === 'base64') return bytesToB64(u);
    if (enc === 'base64url') return bytesToB64(u).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
    if (enc === 'latin1' || enc === 'binary') return String.fromCharCode.apply(null, u);
    if (enc === 'utf8' || enc === 'utf-8') return new TextDecoder().decode(u);
    return G.Buffer ? G.Buffer.from(u.buffer, u.byteOffset, u.length) : u;
  }
  function Hash(alg, key) {
    EventEmitter.call(this);
    this._alg = String(alg).toLowerCase().replace(/^rsa-/, ''); this._key = key; this._parts = []; this._done = false;
    call({ op: 'hash', alg: this._alg, data_b64: '' });
  }
  Hash.prototype = Object.create(EventEmitter.prototype);
  Hash.prototype.update = function (d, enc) {
    if (this._done) throw new Error('Digest already called');
    this._parts.push(bytesIn(d, enc).slice());
    return this;
  };
  Hash.prototype.write = function (d, enc) { this.update(d, enc); return true; };
  Hash.prototype.end = function (d, enc) { if (d != null) this.update(d, enc); return this; };
  Hash.prototype.copy = function () { var h = Object.create(Hash.prototype); EventEmitter.call(h); h._alg = this._alg; h._key = this._key; h._parts = this._parts.slice(); h._done = false; return h; };
  Hash.prototype.digest = function (enc) {
    if (this._done) throw new Error('Digest already called');
    this._done = true;
    var n = 0; this._parts.forEach(function (p) { n += p.length; });
    var all = new Uint8Array(n); n = 0;
    this._parts.forEach(function (p) { all.set(p, n); n += p.length; });
    var op = { op: 'hash', alg: this._alg, data_b64: bytesToB64(all) };
    if (this._key !== undefined) op.key_b64 = bytesToB64(this._key);
    return bytesOut(b64ToBytes(call(op).b64), enc);
  };
  function createHash(alg) { return new Hash(alg); }
  function createHmac(alg, key) {
    if (key && typeof key === 'object' && key._secret) key = key._secret;
    return new Hash(alg, bytesIn(key == null ? '' : key));
  }
  function timingSafeEqual(a, b) {
    a = bytesOf(a); b = bytesOf(b);
    if (a.length !== b.length) throw new RangeError('Input buffers must have the same byte length');
    var d = 0;
    for (var i = 0; i < a.length; i++) d |= a[i] ^ b[i];
    return d === 0;
  }
  var cryptoMod = { createHash: createHash, createHmac: createHmac, timingSafeEqual: timingSafeEqual,
    createSecretKey: function (k, enc) { return { type: 'secret', _secret: bytesIn(k, enc), export: function () { return bytesOut(this._secret); } }; },
    getHashes: function () { return ['md5', 'sha1', 'sha224', 'sha256', 'sha384', 'sha512']; },
    randomUUID: function () { var b = randomBytes(16); b[6] = (b[6] & 15) | 64; b[8] = (b[8] & 63) | 128; var h = Array.prototype.map.call(b, function (x) { return (x + 256).toString(16).slice(1); }).join(''); return h.slice(0, 8) + '-' + h.slice(8, 12) + '-' + h.slice(12, 16) + '-' + h.slice(16, 20) + '-' + h.slice(20); },
    randomBytes: function (n, cb) { var b = bytesOut(randomBytes(n)); if (typeof cb === 'function') { setTimeout(function () { cb(null, b); }, 0); return; } return b; },
    randomInt: function (lo, hi) { if (hi === undefined) { hi = lo; lo = 0; } var r = new Uint32Array(randomBytes(4).buffer)[0]; return lo + (r % (hi - lo)); },
    getRandomValues: getRandomValues, webcrypto: { getRandomValues: getRandomValues },
    createSign: unsupported('crypto.createSign'), createVerify: unsupported('crypto.createVerify'), createCipheriv: unsupported('crypto.createCipheriv'),
    createDecipheriv: unsupported('crypto.createDecipheriv'), publicEncrypt: unsupported('crypto.publicEncrypt'), pbkdf2: unsupported('crypto.pbkdf2'), pbkdf2Sync: unsupported('crypto.pbkdf2Sync') };
  G.crypto = G.crypto || { randomUUID: cryptoMod.randomUUID, getRandomValues: cryptoMod.getRandomValues };
  // zlib: its stream classes exist (libraries subclass them at load) but
  // compress nothing; every function throws.
  var zlibMod = { constants: {} };
  ['Inflate', 'Deflate', 'Gzip', 'Gunzip', 'InflateRaw', 'DeflateRaw', 'Unzip', 'BrotliCompress', 'BrotliDecompress'].forEach(function (n) {
    var C = function () { Stream.call(this); };
    C.prototype = Object.create(Stream.prototype);
    zlibMod[n] = C;
    zlibMod['create' + n] = unsupported('zlib.create' + n);
  });
  ['inflate', 'deflate', 'gzip', 'gunzip', 'inflateRaw', 'deflateRaw', 'unzip', 'brotliCompress', 'brotliDecompress'].forEach(function (n) {
    zlibMod[n] = unsupported('zlib.' + n);
    zlibMod[n + 'Sync'] = unsupported('zlib.' + n + 'Sync');
  });
  var builtins = {
    events: EventEmitter, stream: stream, util: util, url: { URL: URL, URLSearchParams: URLSearchParams, parse: function (u) { var x = new URL(u); return { protocol: x.protocol, host: x.host, hostname: x.hostname, port: x.port || null, pathname: x.pathname, search: x.search || null, query: x.search.slice(1) || null, hash: x.hash || null, href: x.href, path: x.pathname + x.search }; }, format: function (u) { return String(u.href || u); }, fileURLToPath: unsupported('url.fileURLToPath') },
    http: httpMod, https: httpsMod, http2: { connect: unsupported('http2.connect'), constants: {} }, net: { isIP: function () { return 0; }, connect: unsupported('net.connect'), Socket: Stream }, tls: { connect: unsupported('tls.connect') },
    dns: { lookup: unsupported('dns.lookup') }, zlib: zlibMod,
    os: { platform: function () { return 'atom'; }, release: function () { return ''; }, type: function () { return 'Atom'; }, arch: function () { return 'wasm32'; }, EOL: '\n', hostname: function () { return 'piece'; }, homedir: function () { return '/'; }, tmpdir: function () { return '/tmp'; }, cpus: function () { return []; } },
    path: pathMod, tty: { isatty: function () { return false; } }, assert: function (v, m) { if (!v) throw new Error(m || 'assertion failed'); },
    querystring: { stringify: function (o) { return new URLSearchParams(o).toString(); }, parse: function (s) { var o = {}; new URLSearchParams(s).forEach(function (v, k) { o[k] = v; }); return o; }, escape: encodeURIComponent, unescape: decodeURIComponent },
    crypto: cryptoMod, fs: { existsSync: function () { return false; }, readFileSync: unsupported('fs'), createReadStream: unsupported('fs'), promises: {}, statSync: unsupported('fs') },
    buffer: { Buffer: G.Buffer }, string_decoder: { StringDecoder: function () { this.write = function (b) { return new TextDecoder().decode(b); }; this.end = function () { return ''; }; } },
    child_process: { spawn: unsupported('child_process') }, worker_threads: { isMainThread: true }, async_hooks: { AsyncLocalStorage: function () { var v; this.getStore = function () { return v; }; this.run = function (s, f) { var o = v; v = s; try { return f.apply(null, Array.prototype.slice.call(arguments, 2)); } finally { v = o; } }; } },
    perf_hooks: { performance: { now: function () { return Date.now(); } } }, timers: { setTimeout: G.setTimeout, clearTimeout: G.clearTimeout, setInterval: G.setInterval, clearInterval: G.clearInterval, setImmediate: G.setImmediate },
    process: G.process, punycode: { toASCII: function (s) { return s; }, toUnicode: function (s) { return s; } }, constants: {}, vm: {}, v8: {}, readline: {}, module: {}, console: G.console
  };
  builtins.assert.strict = builtins.assert; builtins.assert.ok = builtins.assert;
  // Structural equality of plain data (what pieces compare: API records).
  function deepEq(a, b) {
    if (a === b) return true;
    if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return a !== a && b !== b;
    if (Array.isArray(a) !== Array.isArray(b) || Object.getPrototypeOf(a) !== Object.getPrototypeOf(b)) return false;
    var ka = Object.keys(a), kb = Object.keys(b);
    return ka.length === kb.length && ka.every(function (k) { return Object.prototype.hasOwnProperty.call(b, k) && deepEq(a[k], b[k]); });
  }
  builtins.assert.deepStrictEqual = builtins.assert.deepEqual = function (a, b, m) { if (!deepEq(a, b)) throw new Error(m || 'the values are not deeply equal'); };
  builtins.assert.equal = builtins.assert.strictEqual = function (a, b, m) { if (a !== b) throw new Error(m || 'the values are not equal'); };
  G.performance = builtins.perf_hooks.performance;
  // Packages left out of bundles (bundle.go, unavailable): any use throws.
  var UNAVAILABLE = { playwright: 'a browser', 'playwright-core': 'a browser', puppeteer: 'a browser', 'puppeteer-core': 'a browser', sharp: 'a native addon' };
  function unavailableModule(name) {
    var fail = function () { throw new Error(name + ' is not available to pieces (it needs ' + UNAVAILABLE[name] + ')'); };
    var stub = new Proxy(function () {}, {
      get: function (t, k) { return typeof k === 'symbol' || k === 'then' || k === '__esModule' ? undefined : k === 'default' ? stub : stub; },
      apply: fail, construct: fail
    });
    return stub;
  }
  G.require = function (name) {
    var n = String(name).replace(/^node:/, '');
    if (Object.prototype.hasOwnProperty.call(UNAVAILABLE, n)) return unavailableModule(n);
    var base = n.split('/')[0];
    if (base === 'stream' || base === 'util' || base === 'path' || base === 'timers' || base === 'fs' || base === 'dns' || base === 'assert' || base === 'url') n = base;
    if (Object.prototype.hasOwnProperty.call(builtins, n)) return builtins[n];
    throw new Error("Cannot find module '" + name + "': pieces may require only bundled modules and Node built-ins");
  };

  // The piece: the framework object the bundle exports.
  function findPiece(exp) {
    if (!exp) return null;
    var cands = [exp].concat(Object.keys(exp).map(function (k) { return exp[k]; }));
    for (var c of cands) {
      if (c && typeof c === 'object' && typeof c.displayName === 'string' &&
        (typeof c.actions === 'function' || (c._actions && typeof c.getAction === 'function'))) return c;
    }
    return null;
  }
  var piece = null;
  G.__atom_register = function (exp) {
    piece = findPiece(exp);
    if (!piece) throw new Error('the bundle exports no piece (an object created by createPiece)');
  };
  function authList(a) { return a == null ? [] : Array.isArray(a) ? a : [a]; }
  // The old framework (@activepieces/framework 0.2) has no piece-level
  // auth: actions take it as a prop of an auth type.
  var AUTH_TYPES = { OAUTH2: 1, SECRET_TEXT: 1, BASIC_AUTH: 1, CUSTOM_AUTH: 1 };
  function actionsOf(p) { return typeof p.actions === 'function' ? p.actions() : p._actions; }
  function triggersOf(p) { return (typeof p.triggers === 'function' ? p.triggers() : p._triggers) || {}; }
  function legacyAuth(type, auth) {
    if (auth == null) return undefined;
    if (type === 'SECRET_TEXT') return auth.secret_text !== undefined ? auth.secret_text : auth.access_token;
    if (type === 'BASIC_AUTH') return { username: auth.username, password: auth.password };
    if (type === 'CUSTOM_AUTH') return auth.props || {};
    return auth;
  }
  function plain(v, depth) {
    if (depth > 6 || typeof v === 'function' || typeof v === 'symbol') return undefined;
    if (v === null || typeof v !== 'object') return v;
    if (Array.isArray(v)) return v.map(function (x) { return plain(x, depth + 1); });
    var o = {};
    Object.keys(v).forEach(function (k) { var x = plain(v[k], depth + 1); if (x !== undefined) o[k] = x; });
    return o;
  }
  function describeProps(props, skipAuth) {
    var out = {};
    Object.keys(props || {}).forEach(function (k) {
      var p = props[k];
      if (!p || typeof p !== 'object') return;
      if (skipAuth && AUTH_TYPES[p.type]) return;
      var d = { type: p.type, displayName: p.displayName, description: p.description, required: !!p.required };
      if (p.defaultValue !== undefined) d.defaultValue = plain(p.defaultValue, 0);
      if (p.options && Array.isArray(p.options.options)) d.options = plain(p.options.options, 0);
      if (p.properties && typeof p.properties === 'object') d.properties = describeProps(p.properties);
      if (p.props && typeof p.props === 'object' && !Array.isArray(p.props)) d.props = describeProps(p.props);
      if (typeof p.options === 'function') d.dynamicOptions = true;
      out[k] = d;
    });
    return out;
  }
  G.__atom_describe = function () {
    var acts = actionsOf(piece);
    var auths = authList(piece.auth);
    if (auths.length === 0) {
      Object.keys(acts).forEach(function (k) {
        var props = acts[k].props || {};
        Object.keys(props).forEach(function (n) {
          var p = props[n];
          if (p && AUTH_TYPES[p.type] && !auths.some(function (a) { return a.type === p.type; })) auths.push(p);
        });
      });
    }
    return JSON.stringify({
      displayName: piece.displayName, description: piece.description || '', logoUrl: piece.logoUrl || '',
      categories: piece.categories || [],
      auth: auths.map(function (a) { return { type: a.type, displayName: a.displayName, description: a.description, required: a.required, authUrl: a.authUrl, tokenUrl: a.tokenUrl, scope: a.scope, props: a.props ? describeProps(a.props) : undefined }; }),
      actions: Object.keys(acts).map(function (k) {
        var a = acts[k];
        return { name: a.name || k, displayName: a.displayName, description: a.description, props: describeProps(a.props, true), requireAuth: a.requireAuth !== false };
      }),
      triggers: Object.keys(triggersOf(piece)).map(function (k) {
        var t = triggersOf(piece)[k];
        return { name: t.name || k, displayName: t.displayName, description: t.description, type: t.type || '',
          props: describeProps(t.props, true), sampleData: plain(t.sampleData, 0) };
      })
    });
  };

  // authValue shapes the connection for context.auth so that pieces of
  // every framework release read it: recent ones read auth.secret_text and
  // auth.props.x, those before about 0.20 read the secret text as a string
  // and custom props as auth.x. A secret text is a String object carrying
  // type and secret_text; custom props are both under props and at the top
  // level, with the piece's declared defaults filled in.
  function authValue(a) {
    if (a == null || typeof a !== 'object') return a;
    if (a.type === 'SECRET_TEXT') {
      var s = Object(String(a.secret_text === undefined ? '' : a.secret_text));
      Object.defineProperty(s, 'type', { value: 'SECRET_TEXT' });
      Object.defineProperty(s, 'secret_text', { value: String(s) });
      return s;
    }
    if (a.type === 'CUSTOM_AUTH') {
      var props = a.props || {};
      authList(piece.auth).forEach(function (d) {
        if (d.type !== 'CUSTOM_AUTH' || !d.props) return;
        Object.keys(d.props).forEach(function (k) {
          var dp = d.props[k];
          if (props[k] === undefined && dp && dp.defaultValue !== undefined) props[k] = dp.defaultValue;
        });
      });
      var o = {};
      Object.keys(props).forEach(function (k) { o[k] = props[k]; });
      if (!('type' in o)) o.type = 'CUSTOM_AUTH';
      if (!('props' in o)) o.props = props;
      return o;
    }
    return a;
  }

  // fillProps completes an action's or trigger's propsValue: missing props
  // take their declared defaults, as the Activepieces engine fills them,
  // and the old framework's auth props take the connection.
  function fillProps(declared, propsValue, auth) {
    Object.keys(declared || {}).forEach(function (k) {
      var p = declared[k];
      if (p && AUTH_TYPES[p.type]) propsValue[k] = legacyAuth(p.type, auth);
      else if (p && propsValue[k] === undefined && p.defaultValue !== undefined) propsValue[k] = p.defaultValue;
    });
    return propsValue;
  }
  function settle(run, extra) {
    Promise.resolve().then(run).then(function (v) {
      var out;
      try { out = v === undefined ? null : JSON.parse(JSON.stringify(v)); } catch (e) { out = plain(v, 0); }
      done = { output: out };
      if (extra) Object.assign(done, extra());
    }, function (e) {
      var msg = e && e.message ? e.message : String(e);
      var oom = e instanceof InternalError && /out of memory/.test(msg);
      var code = oom ? 'out_of_memory' : e && e.atomCode === 'signature_invalid' ? 'signature_invalid' : 'action_failed';
      done = { error: { message: msg, code: code, stack: e && e.stack ? String(e.stack).slice(0, 2000) : undefined } };
    });
  }

  // runTrigger runs one hook of a trigger as Activepieces' engine does:
  // in.trigger {name, op: enable|disable|run, store, webhook_url, payload}.
  // context.store is the trigger instance's own state, held here in
  // memory and returned with the result: the host keeps it (the poll
  // state, the webhook registration), never the tenant's store.
  function runTrigger(input) {
    var t = input.trigger;
    var server = { apiUrl: '', publicUrl: '', token: '' };
    var events = piece.events && typeof piece.events === 'object' ? piece.events : {};
    if (t.op === 'route') {
      // An app webhook request: the piece's parseAndReply names the
      // account (identifierValue) and the event, or answers a challenge.
      if (typeof events.parseAndReply !== 'function') { done = { error: { message: 'the piece parses no app webhooks', code: 'unknown_trigger' } }; return; }
      settle(function () { return events.parseAndReply({ payload: t.payload, server: server }); });
      return;
    }
    var trs = triggersOf(piece);
    var tr = trs[t.name] || Object.keys(trs).map(function (k) { return trs[k]; }).find(function (x) { return x && x.name === t.name; });
    if (!tr) { done = { error: { message: 'unknown trigger ' + t.name, code: 'unknown_trigger' } }; return; }
    var data = t.store && typeof t.store === 'object' && !Array.isArray(t.store) ? t.store : {};
    function copy(v) { return v === undefined ? null : JSON.parse(JSON.stringify(v)); }
    var store = {
      get: function (key) { return Promise.resolve(Object.prototype.hasOwnProperty.call(data, String(key)) ? copy(data[String(key)]) : null); },
      put: function (key, value) {
        return Promise.resolve().then(function () {
          var v = copy(value);
          if (v === null) delete data[String(key)]; else data[String(key)] = v;
          return value;
        });
      },
      delete: function (key) { return Promise.resolve().then(function () { delete data[String(key)]; }); }
    };
    var propsValue = fillProps(tr.props, input.props || {}, input.auth);
    var ctx = {
      auth: authValue(input.auth), propsValue: propsValue, store: store,
      webhookUrl: t.webhook_url || '', payload: t.payload || { body: {}, headers: {}, queryParams: {} },
      server: server,
      project: { id: input.tenant_id, externalId: function () { return Promise.resolve(undefined); } },
      connections: { get: function () { return Promise.resolve(null); } },
      app: { createListeners: function () { throw new Error('app webhooks of JS pieces do not run here'); } },
      setSchedule: function () {}, run: { id: input.execution_id }, flows: { current: { id: '', version: { id: '' } } },
      files: { write: function () { return Promise.reject(new Error('files are not available to pieces yet')); } }
    };
    var run;
    switch (t.op) {
      case 'enable': run = function () { return typeof tr.onEnable === 'function' ? tr.onEnable(ctx) : undefined; }; break;
      case 'disable': run = function () { return typeof tr.onDisable === 'function' ? tr.onDisable(ctx) : undefined; }; break;
      case 'run':
        run = function () {
          return Promise.resolve(tr.run(ctx)).then(function (items) {
            if (items == null) return [];
            if (!Array.isArray(items)) throw new Error('trigger ' + t.name + ' returned ' + typeof items + ', not a list of items');
            return items;
          });
        };
        break;
      case 'app':
        // An app webhook request for this instance, as Activepieces' engine
        // handles one: the piece verifies it with the app's signing
        // secret, parseAndReply names its event (or a reply), onEnable
        // says which events the trigger listens to (createListeners), and
        // run turns a request of one of them into items.
        run = async function () {
          if (typeof events.verify === 'function') {
            var ok = await events.verify({ webhookSecret: t.secret || '', payload: ctx.payload, appWebhookUrl: t.webhook_url || '' });
            if (!ok) throw Object.assign(new Error('the app webhook signature does not verify'), { atomCode: 'signature_invalid' });
          }
          var parsed = typeof events.parseAndReply === 'function' ? await events.parseAndReply({ payload: ctx.payload, server: server }) : null;
          if (parsed && parsed.reply) return { reply: parsed.reply };
          if (t.reply_only) return { items: [] };
          var listeners = [];
          ctx.app = { createListeners: function (l) { if (l && Array.isArray(l.events)) listeners = listeners.concat(l.events); } };
          if (typeof tr.onEnable === 'function') await tr.onEnable(ctx);
          if (!parsed || listeners.indexOf(parsed.event) < 0) return { items: [] };
          var items = await tr.run(ctx);
          if (items == null) items = [];
          if (!Array.isArray(items)) throw new Error('trigger ' + t.name + ' returned ' + typeof items + ', not a list of items');
          return { items: items };
        };
        break;
      default: done = { error: { message: 'unknown trigger operation ' + t.op, code: 'unknown_trigger' } }; return;
    }
    settle(run, function () { return { store: data }; });
  }

  // __atom_call runs one action, or with in.trigger one trigger hook. in:
  // {action, auth, props, execution_id, tenant_id, options, trigger}.
  G.__atom_call = function (raw) {
    var input = JSON.parse(raw);
    done = null;
    if (input.trigger) { runTrigger(input); return; }
    var acts = actionsOf(piece);
    var action = acts[input.action] || Object.keys(acts).map(function (k) { return acts[k]; }).find(function (a) { return a.name === input.action; });
    if (!action) { done = { error: { message: 'unknown action ' + input.action, code: 'unknown_action' } }; return; }
    var store = {
      get: function (key) { return Promise.resolve().then(function () { var r = call({ op: 'store_get', key: String(key) }); return r.found ? JSON.parse(r.value) : null; }); },
      put: function (key, value) { return Promise.resolve().then(function () { call({ op: 'store_put', key: String(key), value: JSON.stringify(value === undefined ? null : value) }); return value; }); },
      delete: function (key) { return Promise.resolve().then(function () { call({ op: 'store_put', key: String(key), value: 'null' }); }); }
    };
    var propsValue = fillProps(action.props, input.props || {}, input.auth);
    var ctx = {
      auth: authValue(input.auth), propsValue: propsValue, store: store,
      server: { apiUrl: '', publicUrl: '', token: '' },
      run: { id: input.execution_id, stop: function () {}, pause: function () {}, isTest: false },
      project: { id: input.tenant_id, externalId: function () { return Promise.resolve(undefined); } },
      files: { write: function () { return Promise.reject(new Error('files are not available to pieces yet')); } },
      connections: { get: function () { return Promise.resolve(null); } },
      tags: { add: function () { return Promise.resolve(); } },
      flows: { list: function () { return Promise.resolve({ data: [] }); }, current: { id: '', version: { id: '' } } },
      step: { name: input.action }, executionType: 'BEGIN', generateResumeUrl: function () { return ''; },
      output: { update: function () { return Promise.resolve(); } }
    };
    var run = function () { return action.run(ctx); };
    if (input.options !== undefined) {
      // A dropdown's options() runs instead of the action, with the props
      // given and the connection, as the Activepieces builder asks them.
      run = function () {
        var p = (action.props || {})[input.options];
        if (!p || AUTH_TYPES[p.type] || typeof p.options !== 'function') throw new Error('action ' + input.action + ' has no dropdown prop ' + JSON.stringify(input.options) + ' with options');
        return p.options(Object.assign({ auth: ctx.auth }, propsValue), ctx);
      };
    }
    settle(run);
  };
})();
