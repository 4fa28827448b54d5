package wasm

// pieceFixtures lists the first-party pieces the tests build.
func pieceFixtures() []fixture { return nil }
