package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/atomhq/atom/catalog"
)

const catalogUsage = `usage: atom catalog validate FILE...

Checks descriptor files (JSON, or YAML for .yaml/.yml) the way the host
checks its custom directory (ATOM_CATALOG_DIR) and prints, for each file,
"ok" or the first problem with its line and field. Exits non-zero when a
file is invalid. The format is described in docs/descriptors.md; the JSON
Schema is served at GET /api/v1/catalog/schema.
`

// catalogCmd runs `atom catalog`.
func catalogCmd(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "validate" {
		fmt.Fprint(stderr, catalogUsage)
		return errors.New("usage: atom catalog validate FILE...")
	}
	files := args[1:]
	if len(files) == 0 || files[0] == "-h" || files[0] == "--help" {
		fmt.Fprint(stderr, catalogUsage)
		return errors.New("catalog validate: name at least one descriptor file")
	}
	bad := 0
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			fmt.Fprintf(stdout, "%s: %v\n", f, err)
			bad++
			continue
		}
		d, err := catalog.CheckFile(f, b)
		if err != nil {
			fmt.Fprintln(stdout, err)
			bad++
			continue
		}
		kinds := []string{d.Auth.Kind}
		for _, a := range d.AuthAlternatives {
			kinds = append(kinds, a.Kind)
		}
		fmt.Fprintf(stdout, "%s: ok (id %q, auth %s)\n", f, d.ID, strings.Join(kinds, ", "))
		for _, p := range catalog.SecretHostProblems(d) {
			fmt.Fprintf(stdout, "%s: warning: %s\n", f, p)
		}
	}
	if bad > 0 {
		return fmt.Errorf("catalog validate: %d of %d files invalid", bad, len(files))
	}
	return nil
}
