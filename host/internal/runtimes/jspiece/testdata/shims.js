// A piece whose actions exercise the runtime's globals and Node built-in
// stand-ins; shims_test.go checks each answer against Node's.
const crypto = require('crypto');
const util = require('util');
const stream = require('stream');
const http = require('http');

function DataStream() { stream.call(this); }
util.inherits(DataStream, stream);

const actions = {
  crypto: { name: 'crypto', props: {}, async run() {
    return {
      sha256: crypto.createHash('sha256').update('hello ').update(Buffer.from('world')).digest('hex'),
      md5: crypto.createHash('md5').update('abc').digest('base64'),
      sha1: crypto.createHash('sha1').update('616263', 'hex').digest('hex'),
      sha512len: crypto.createHash('sha512').update('').digest().length,
      hmac: crypto.createHmac('sha256', 'key').update('The quick brown fox jumps over the lazy dog').digest('hex'),
      hmacB64url: crypto.createHmac('sha1', Buffer.from('key')).update('x').digest('base64url'),
      safeEqual: crypto.timingSafeEqual(Buffer.from('abc'), Buffer.from('abc')),
      unknown: (() => { try { crypto.createHash('whirlpool'); return 'created'; } catch (e) { return e.message; } })(),
      random: crypto.randomBytes(8).toString('hex').length,
      uuid: /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/.test(crypto.randomUUID()),
    };
  } },
  node: { name: 'node', props: {}, async run() {
    const agent = new (class extends http.Agent { constructor() { super({ keepAlive: true }); this.on('free', () => {}); } })();
    return {
      inheritsStream: new DataStream() instanceof stream,
      agent: agent.options.keepAlive === true && agent.listenerCount('free') === 1,
      dirname: typeof __dirname,
      buffer: typeof globalThis.Buffer === 'function' && Buffer.from('aGk=', 'base64').toString(),
      zlibClass: (() => { function Inflate() { require('zlib').Inflate.call(this); } util.inherits(Inflate, require('zlib').Inflate); return new Inflate() instanceof stream; })(),
    };
  } },
};

module.exports = { shims: { displayName: 'Shims', description: 'runtime shims', auth: undefined, actions: () => actions } };
actions.unavailable = { name: 'unavailable', props: {}, async run() {
  const sharp = require('sharp');
  try { await sharp(Buffer.from('x')).resize(10).toBuffer(); return 'ran'; } catch (e) { return e.message; }
} };
// As node-fetch uses Node's http: a request written in two parts, the
// response piped through a PassThrough and read from its events.
actions.nodehttp = { name: 'nodehttp', props: {}, run() {
  const https = require('https');
  return new Promise((resolve, reject) => {
    const req = https.request({ protocol: 'https:', hostname: 'api.example.com', path: '/v1/echo?x=1', method: 'POST',
      headers: { 'Content-Type': 'application/json', 'Accept-Encoding': 'gzip,deflate', 'X-Key': 'k1' } });
    req.on('error', reject);
    req.on('response', (res) => {
      const body = res.pipe(new stream.PassThrough());
      const chunks = [];
      setTimeout(() => {
        body.on('data', (c) => chunks.push(c));
        body.on('end', () => resolve({ status: res.statusCode, type: res.headers['content-type'], body: JSON.parse(Buffer.concat(chunks).toString()) }));
      }, 0);
    });
    req.write('{"a":');
    req.end(Buffer.from('1}'));
  });
} };
