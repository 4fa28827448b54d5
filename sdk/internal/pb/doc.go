// Package pb holds the Go code generated from the atom.plugin.v1 protocol
// in sdk/proto. Regenerate it with scripts/genproto.sh; never edit
// it by hand. Public SDK signatures use hand-written types and convert.
package pb
