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
// This package is what the host runs: it loads, checks, searches and
// expands descriptors. Working on the committed files of a repository
// checkout is apart: catalog/overlay (completing and rendering a
// descriptor, overrides.json, implementations.json; linked into atom for
// `atom generate integration`) and catalog/internal/importer (the bulk
// import behind `go generate ./catalog`, never linked into atom).
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
//
// Host-wide (operator) secrets — {PROVIDER}_CLIENT_ID/_CLIENT_SECRET at
// token, refresh, revocation and request-token endpoints, and
// {PROVIDER}_API_KEY at an api_key entry's API — only go to hosts the
// descriptor fixes: literally, through values it lists
// (connection_param_options, metadata_options), or through a value that
// is a single DNS label placed directly under a registrable parent domain
// the descriptor writes out (https://{{connection.shop}}.myshopify.com).
// ExpandSecretURL enforces
// it when such a URL is built; SecretHostProblems checks a descriptor, and
// auth.tenant_chosen_hosts declares the variables with which a tenant
// picks a host itself, so that it needs its own OAuth app or key.
package catalog
