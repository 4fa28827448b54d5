// hello-as: an Atom piece written in AssemblyScript, implementing the ABI
// of sdk/piece/ABI.md without an SDK. Its one action, "greet", answers
// {"greeting": "Hello, <name>!"} for the input {"name": "<name>"}.
//
// Build: npm install && npm run build   (writes build/hello-as.wasm)

// The host's log function (module "atom"): 0 debug, 1 info, 2 warn, 3 error.
@external("atom", "log")
declare function hostLog(level: i32, ptr: usize, len: i32): void;

const MANIFEST = `{"id":"hello-as","name":"Hello (AssemblyScript)","version":"1.0.0","abi":1,` +
  `"description":"Greets; a piece written in AssemblyScript.","categories":["development"],` +
  `"hosts":[],"auth":{"kind":"none"},"actions":[{"name":"greet","display_name":"Greet",` +
  `"description":"Answer a greeting.","input_schema":{"type":"object","required":["name"],` +
  `"properties":{"name":{"type":"string","maxLength":100}}}}]}`;

// The last result handed to the host: kept referenced, so the collector
// leaves it alone until the next call replaces it.
let result: ArrayBuffer = new ArrayBuffer(0);

function packed(buf: ArrayBuffer): i64 {
  return (i64(changetype<usize>(buf)) << 32) | i64(buf.byteLength);
}

function reply(json: string): i64 {
  result = String.UTF8.encode(json);
  return packed(result);
}

function log(level: i32, msg: string): void {
  const b = String.UTF8.encode(msg);
  hostLog(level, changetype<usize>(b), b.byteLength);
}

export function atom_abi_version(): i32 {
  return 1;
}

// atom_alloc is called by the host only to write the request of
// atom_execute; atom_execute frees it.
export function atom_alloc(size: i32): usize {
  return heap.alloc(<usize>size);
}

export function atom_free(ptr: usize, size: i32): void {
  heap.free(ptr);
}

export function atom_manifest(): i64 {
  return reply(MANIFEST);
}

export function atom_execute(ptr: usize, len: i32): i64 {
  const req = String.UTF8.decodeUnsafe(ptr, <usize>len);
  heap.free(ptr);
  log(1, "hello-as: execute");
  if (!req.includes(`"action":"greet"`)) {
    return reply(`{"diagnostics":[{"severity":"error","summary":"unknown action"}]}`);
  }
  // The host validated the input against the schema: a string "name"
  // of at most 100 characters. A real piece would use a JSON library
  // (assemblyscript-json, json-as); this one reads the string by hand.
  const key = `"name":"`;
  const at = req.indexOf(key);
  if (at < 0) {
    return reply(`{"diagnostics":[{"severity":"error","summary":"name is required","field":"name"}]}`);
  }
  const start = at + key.length;
  let end = start;
  while (end < req.length && req.charCodeAt(end) != 0x22) {
    if (req.charCodeAt(end) == 0x5c) end++; // keep escapes as they are
    end++;
  }
  return reply(`{"output":{"greeting":"Hello, ` + req.substring(start, end) + `!"}}`);
}
