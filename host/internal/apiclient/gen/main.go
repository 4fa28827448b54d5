// Command gen writes the Go client of Atom's REST API from its OpenAPI
// document: one method per operationId and one Go type per schema of
// components/schemas. Run it with
//
//	go generate ./host/internal/apiclient
//
// (or make openapi), which runs, from host/internal/apiclient,
//
//	go run ./gen -spec ../api/openapi.yaml -out client.gen.go
package main

import (
	"flag"
	"fmt"
	"os"
)

func main() {
	spec := flag.String("spec", "../api/openapi.yaml", "the OpenAPI document (YAML or JSON)")
	out := flag.String("out", "client.gen.go", "the Go file to write")
	pkg := flag.String("package", "apiclient", "the Go package name")
	flag.Parse()
	if err := run(*spec, *out, *pkg); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

func run(specPath, outPath, pkg string) error {
	b, err := os.ReadFile(specPath)
	if err != nil {
		return err
	}
	src, err := Generate(b, pkg)
	if err != nil {
		return fmt.Errorf("%s: %w", specPath, err)
	}
	return os.WriteFile(outPath, src, 0o644)
}
