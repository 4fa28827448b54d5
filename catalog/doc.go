// Package catalog holds Atom's integration descriptors and the Go API
// that loads and searches them.
//
// Descriptors are data: one JSON file per integration under data/,
// generated from the merged provider data by
//
//	go run ./catalog/cmd/import -in ../shared/data/providers.json -out catalog/data
//
// (also `go generate ./catalog`) and embedded in the binary. Two
// committed overlays complete them: overrides.json, applied by the
// importer, adds facts the data lacks; implementations.json, applied at
// load, marks which ids have a native plugin or a wasm piece. The file
// format is described by schema.json (JSON Schema draft 2020-12).
//
// Load builds an immutable snapshot:
//
//	c, err := catalog.Load(catalog.OptionsFromEnv())
//	if err != nil {
//		return err
//	}
//	slack, _ := c.Get("slack")
//	page := c.Search(catalog.Query{Q: "slak", Limit: 10}) // Slack first
//
// A Watcher reloads custom descriptors from ATOM_CATALOG_DIR while the
// host runs and hands each new snapshot to a callback.
//
// Templates in descriptors reference {{connection.X}} (parameters the
// tenant supplies, e.g. Shopify's shop), {{credentials.X}} (credential
// fields and tokens) and {{metadata.X}} (token-response or callback
// fields kept with the connection, e.g. Salesforce's instance_url).
// ExpandTemplate and ExpandURL fill them in.
package catalog
