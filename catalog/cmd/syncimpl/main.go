// Command syncimpl rewrites catalog/implementations.json from the plugins
// that ship in the repository: every plugins/native/<id> with a main.go is
// "native", every plugins/pieces/<id> with a main.go or <id>.wat is
// "piece". Run it from the repository root:
//
//	go run ./catalog/cmd/syncimpl
package main

import (
	"fmt"
	"os"

	"github.com/atomhq/atom/catalog/overlay"
)

func main() {
	impl, err := overlay.Shipped(".")
	if err != nil {
		fmt.Fprintln(os.Stderr, "syncimpl:", err)
		os.Exit(1)
	}
	b, err := overlay.MarshalImplementations(impl)
	if err != nil {
		fmt.Fprintln(os.Stderr, "syncimpl:", err)
		os.Exit(1)
	}
	if err := os.WriteFile("catalog/implementations.json", b, 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "syncimpl:", err)
		os.Exit(1)
	}
	fmt.Printf("syncimpl: %d integrations with a native plugin or piece written to catalog/implementations.json\n", len(impl))
}
