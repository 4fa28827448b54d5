// Package wasm runs pieces: integrations compiled to WebAssembly that follow
// the ABI in sdk/piece/ABI.md, inside wazero.
//
// One Runtime serves the whole host. It compiles each module once per
// checksum (with a file-backed compilation cache), keeps a bounded pool of
// warm instances per loaded piece and runs every call under a deadline and
// a memory cap. A module the cache has not seen first runs on wazero's
// interpreter, which compiles it in a fraction of the time, while the
// optimizing compiler works in the background; the piece then switches to
// native instances and drains the interpreted ones. Both engines apply the
// same limits and host functions. Guests get no filesystem, environment or arguments, but a
// real clock and crypto randomness; they reach the network only through the
// http_request host function, and only the hosts their manifest declares.
//
// An instance serves one call at a time, and by default only one tenant:
// an idle instance that served another tenant is closed rather than
// reused. After any trap, panic, timeout or host-function fault the
// instance is thrown away; instances whose memory grew past a threshold are
// recycled.
//
// A Loader watches a directory of .wasm files and hot-swaps pieces: the new
// version is compiled before traffic switches, and the old one drains.
package wasm
