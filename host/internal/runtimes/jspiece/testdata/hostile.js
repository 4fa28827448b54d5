// A piece shaped like the framework's createPiece object, written to
// misbehave. Its actions take the hosts from props so the test can point
// them at local servers.
const actions = {
  healthy: { name: 'healthy', displayName: 'Healthy', props: {}, async run(ctx) {
    const r = await fetch(ctx.propsValue.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ n: ctx.propsValue.n }) });
    return { status: r.status, body: await r.json() };
  } },
  loop: { name: 'loop', displayName: 'Loop', props: {}, async run() { for (;;) {} } },
  sleep_forever: { name: 'sleep_forever', displayName: 'Sleep', props: {}, run() { return new Promise((res) => setTimeout(res, 3600 * 1000)); } },
  bomb: { name: 'bomb', displayName: 'Memory bomb', props: {}, async run() {
    const keep = [];
    for (;;) keep.push(new Uint8Array(4 << 20).fill(1));
  } },
  fetch: { name: 'fetch', displayName: 'Fetch a URL', props: {}, async run(ctx) {
    const r = await fetch(ctx.propsValue.url);
    return await r.text();
  } },
  remember: { name: 'remember', displayName: 'Leave state in globals', props: {}, async run(ctx) {
    const before = { global: globalThis.leaked === undefined ? null : globalThis.leaked, proto: {}.polluted === undefined ? null : {}.polluted };
    globalThis.leaked = ctx.propsValue.secret;
    Object.prototype.polluted = ctx.propsValue.secret;
    return before;
  } },
  store: { name: 'store', displayName: 'Count in the store', props: {}, async run(ctx) {
    const n = (await ctx.store.get('count')) || 0;
    await ctx.store.put('count', n + 1);
    console.log('count is', n + 1);
    // A secret text reads both ways: as a string (frameworks before 0.20)
    // and as { type, secret_text }.
    return { count: n + 1, auth: ctx.auth && { type: ctx.auth.type, secret_text: ctx.auth.secret_text, string: `${ctx.auth}` } };
  } },
  throws: { name: 'throws', displayName: 'Throw', props: {}, async run() { throw new Error('provider said no'); } },
};
// Triggers that misbehave: a run that never ends, results past the host's
// limits (too many items, one item too large, a store too large to keep).
const triggers = {
  loop: { name: 'loop', displayName: 'Loop', type: 'POLLING', props: {}, async onEnable() {}, async run() { for (;;) {} } },
  many: { name: 'many', displayName: 'Too many items', type: 'POLLING', props: {}, async onEnable() {},
    async run() { return Array.from({ length: 600 }, (_, i) => ({ id: i })); } },
  huge: { name: 'huge', displayName: 'An item too large', type: 'POLLING', props: {}, async onEnable() {},
    async run() { return [{ id: 1, pad: 'z'.repeat(300 << 10) }]; } },
  hoard: { name: 'hoard', displayName: 'A store too large', type: 'POLLING', props: {},
    async onEnable(ctx) { await ctx.store.put('all', 'w'.repeat(100 << 10)); }, async run() { return []; } },
  hang: { name: 'hang', displayName: 'Enable never returns', type: 'WEBHOOK', props: {},
    onEnable() { return new Promise(() => { for (;;) {} }); }, async onDisable() {}, async run() { return []; } },
};
module.exports = { hostile: { displayName: 'Hostile', description: 'misbehaves', categories: ['DEVELOPER_TOOLS'], auth: undefined, actions: () => actions, triggers: () => triggers } };
actions.big_output = { name: 'big_output', displayName: 'Return a large result', props: {}, async run() { return 'y'.repeat(2 << 20); } };
// Leaves cyclic garbage (freed only by a collection) of mb MiB.
actions.cycles = { name: 'cycles', displayName: 'Leave cyclic garbage', props: {}, async run(ctx) {
  const chunk = 'x'.repeat(64 * 1024);
  for (let i = 0; i < ctx.propsValue.mb * 16; i++) { const a = { pad: chunk + i }; const b = { a }; a.b = b; }
  return 'ok';
} };
