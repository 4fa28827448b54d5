// Package piece is the Go guest SDK for Atom pieces: integrations compiled
// to WebAssembly and run by the host inside wazero, following the ABI in
// ABI.md.
//
// A piece is one main package that registers its definition and has an
// empty main:
//
//	func init() {
//		piece.Register(piece.Define(piece.Piece{
//			ID: "discord", Name: "Discord", Categories: []string{"communication"},
//			Hosts: []string{"discord.com"},
//			Actions: []piece.Action{{
//				Name:  "send_message",
//				Props: []piece.Prop{piece.LongText("content", "Message").Required()},
//				Run:   sendMessage,
//			}},
//		}))
//	}
//
//	func main() {}
//
// Build it as a WASI reactor:
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o discord.wasm ./plugins/pieces/discord
//
// Inside Run, a *Context gives the input (Bind, String), the execution's
// credentials (Credentials), HTTP through the host (Do, JSON; only to the
// hosts the piece declares), the tenant's key-value store (StoreGet,
// StorePut) and logging (Logf). Errors returned from Run become error
// diagnostics; *Error sets the field and upstream status.
//
// On platforms other than wasip1 the package compiles too, so manifests can
// be inspected and actions tested natively with Piece.Execute and a Host
// of the test's own.
package piece
