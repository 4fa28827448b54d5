// Stands in for the npm package tiktoken, whose encoder is a .wasm file
// loaded through WebAssembly, which the engine does not have. It keeps
// tiktoken's API over js-tiktoken (pure JavaScript) with the cl100k_base
// ranks (the GPT-3.5 and GPT-4 models); for models of another encoding it
// throws as tiktoken does for a model it does not know, and callers fall
// back to their own estimate. The ranks are parsed on first use and kept.
'use strict';
var lite = require('js-tiktoken/lite');
var cl100k = require('js-tiktoken/ranks/cl100k_base');
var encoders = {};
var ranks = { cl100k_base: cl100k };

function Tiktoken(name, extra) {
  var key = name + (extra ? JSON.stringify(extra) : '');
  if (!encoders[key]) encoders[key] = new lite.Tiktoken(ranks[name], extra);
  this._e = encoders[key];
  this.name = name;
}
Tiktoken.prototype.encode = function (text, allowedSpecial, disallowedSpecial) {
  return Uint32Array.from(this._e.encode(String(text), allowedSpecial, disallowedSpecial));
};
Tiktoken.prototype.encode_ordinary = function (text) {
  return Uint32Array.from(this._e.encode(String(text), [], []));
};
Tiktoken.prototype.decode = function (tokens) {
  return new TextEncoder().encode(this._e.decode(Array.from(tokens)));
};
Tiktoken.prototype.decode_single_token_bytes = function (token) {
  return this.decode([token]);
};
Tiktoken.prototype.token_byte_values = function () {
  throw new Error('token_byte_values is not available');
};
Tiktoken.prototype.free = function () {};

function get_encoding(name, extra) {
  if (!Object.prototype.hasOwnProperty.call(ranks, name)) throw new Error('Unknown encoding ' + name);
  return new Tiktoken(name, extra);
}
function encoding_for_model(model, extra) {
  var name;
  try { name = lite.getEncodingNameForModel(model); } catch (e) { throw new Error('Invalid model: ' + model); }
  return get_encoding(name, extra);
}
module.exports = { Tiktoken: Tiktoken, get_encoding: get_encoding, encoding_for_model: encoding_for_model,
  init: function () { return Promise.resolve(); } };
