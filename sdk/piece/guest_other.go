//go:build !wasip1

package piece

// On other platforms than wasip1 the package builds for documentation,
// manifests and tests; a piece runs only inside a wasm module, where the
// exports in guest_wasip1.go serve it. Piece.Execute with a test Host runs
// actions natively.
