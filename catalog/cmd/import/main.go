// Command import regenerates the catalog's committed descriptor files
// from the merged provider data:
//
//	go run ./catalog/cmd/import -in ../shared/data/providers.json -out catalog/data
//
// It applies catalog/overrides.json, writes one JSON file per integration
// and removes files of entries that no longer exist. Running it twice
// gives no diff.
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/atomhq/atom/catalog/internal/importer"
)

func main() {
	in := flag.String("in", "../shared/data/providers.json", "merged provider data file")
	out := flag.String("out", "catalog/data", "output directory for descriptor files")
	overrides := flag.String("overrides", "catalog/overrides.json", "overrides file applied during import (empty for none)")
	flag.Parse()
	if _, err := importer.Run(*in, *overrides, *out, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "import:", err)
		os.Exit(1)
	}
}
