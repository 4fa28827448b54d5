// Package migrations embeds Atom's SQL migrations: postgres/ for the
// production backend (with row-level security) and sqlite/ for the
// embedded default. Migrations are numbered contiguously and applied with
// goose, one transaction per step.
package migrations

import "embed"

// Postgres holds the PostgreSQL migrations under "postgres/".
//
//go:embed postgres/*.sql
var Postgres embed.FS

// SQLite holds the SQLite migrations under "sqlite/".
//
//go:embed sqlite/*.sql
var SQLite embed.FS
