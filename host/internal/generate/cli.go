package generate

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
)

// Usage is the help text of `atom generate`.
const Usage = `Usage:
  atom generate integration --provider ID --auth oauth2|api_key|basic
      [--name "Display Name"] [--base-url https://api.example.com]
      [--category crm] [--force] [--dir REPO_ROOT]

Scaffolds plugins/native/ID (main.go, the provider package with a
test_connection action and its test, README.md), adds the integration to
the catalog or marks it native, and appends its variables to .env.example.
Existing plugin files are kept unless --force is given.
`

// Main runs `atom generate` with args (the words after "generate"),
// printing what it wrote and the next steps to stdout.
func Main(args []string, stdout io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stdout, Usage)
		if len(args) == 0 {
			return errors.New("generate: a target is required: integration")
		}
		return nil
	}
	if args[0] != "integration" {
		return fmt.Errorf("generate: unknown target %q (want integration)", args[0])
	}
	fs := flag.NewFlagSet("atom generate integration", flag.ContinueOnError)
	fs.SetOutput(stdout)
	fs.Usage = func() { fmt.Fprint(stdout, Usage) }
	var o Options
	fs.StringVar(&o.Provider, "provider", "", "catalog id of the integration (lowercase letters, digits, hyphens)")
	fs.StringVar(&o.Auth, "auth", "", "auth kind: oauth2, api_key or basic")
	fs.StringVar(&o.Name, "name", "", "display name (default: from the catalog or the id)")
	fs.StringVar(&o.BaseURL, "base-url", "", "API base URL (default: from the catalog or a placeholder)")
	fs.StringVar(&o.Category, "category", "", "catalog category id or name (default: from the catalog or other)")
	fs.BoolVar(&o.Force, "force", false, "overwrite existing plugin files")
	fs.StringVar(&o.Dir, "dir", ".", "repository root")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("generate integration: unexpected argument %q", fs.Arg(0))
	}
	res, err := Integration(o)
	if err != nil {
		return fmt.Errorf("generate integration: %w", err)
	}
	Report(stdout, res)
	return nil
}

// Report prints what Integration did and what to do next.
func Report(w io.Writer, res *Result) {
	fmt.Fprintf(w, "generated %s (%s), package %s\n", res.ID, res.Auth, res.Package)
	for _, p := range res.Created {
		fmt.Fprintf(w, "  created      %s\n", p)
	}
	for _, p := range res.Overwritten {
		fmt.Fprintf(w, "  overwritten  %s\n", p)
	}
	for _, c := range res.Catalog {
		fmt.Fprintf(w, "  wrote        %s (%s)\n", c.Path, c.What)
	}
	if len(res.EnvAdded) > 0 {
		fmt.Fprintf(w, "  updated      .env.example (%s)\n", strings.Join(res.EnvAdded, ", "))
	}
	if len(res.Notes) > 0 {
		fmt.Fprintln(w, "\nTo finish by hand:")
		for _, n := range res.Notes {
			fmt.Fprintf(w, "  - %s\n", n)
		}
	}
	dir := "./plugins/native/" + res.ID
	bin := "atom-provider-" + res.ID
	cred := `{"api_key":"..."}`
	switch res.Auth {
	case AuthOAuth2:
		cred = ""
	case AuthBasic:
		cred = `{"username":"...","password":"..."}`
	}
	fmt.Fprintf(w, "\nNext steps:\n")
	fmt.Fprintf(w, "  1. Write the real actions in %s/%s/%s.go (and their fakes in %s_test.go).\n", dir, res.Package, res.Package, res.Package)
	fmt.Fprintf(w, "  2. Test:  go test %s/...\n", dir)
	fmt.Fprintf(w, "  3. Build: go build -o bin/plugins/%s %s   (make plugins builds every provider)\n", bin, dir)
	fmt.Fprintf(w, "  4. Load:  a running host picks up %s from ATOM_PLUGIN_DIR (default ./bin/plugins) within a second,\n", bin)
	fmt.Fprintf(w, "            or upload it: PUT /api/v1/admin/plugins/%s with the binary as the body (admin key).\n", res.ID)
	if res.CatalogAdded {
		fmt.Fprintf(w, "            The catalog is embedded in atom: rebuild it (make build), or copy catalog/data/%s.json into ATOM_CATALOG_DIR.\n", res.ID)
	}
	if cred != "" {
		fmt.Fprintf(w, "  5. Run:   POST /api/v1/connections/%s %s, then\n", res.ID, cred)
	} else {
		fmt.Fprintf(w, "  5. Run:   connect through GET /api/integrations/%s?action=connect, then\n", res.ID)
	}
	fmt.Fprintf(w, "            POST /api/v1/integrations/%s/actions/test_connection {\"input\":{}}\n", res.ID)
}
