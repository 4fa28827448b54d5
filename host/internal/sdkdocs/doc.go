// Package sdkdocs holds the tests that follow the outsider's checklist of
// sdk/README.md: they take each snippet from the markdown as written and
// build it (a native provider against the SDK module, a WebAssembly-text
// piece, an AssemblyScript piece, a descriptor), then run the pieces in
// the host's wasm runtime.
package sdkdocs
