// Package native runs native provider plugins: Go programs written with
// the SDK (sdk/provider) and served over hashicorp/go-plugin (gRPC,
// protocol atom.plugin.v1). A Manager discovers plugin binaries in a
// directory, verifies them, starts them lazily, and hot-loads new and
// replaced binaries while the host serves traffic.
//
// # Discovery
//
// Every regular executable file in Config.Dir is a plugin, except hidden
// files (a leading dot), the lock file and names ending in .tmp, .swp or ~.
// The plugin id is the file name with the prefix "atom-provider-" removed
// (so "atom-provider-stripe" serves "stripe"); the manifest's id must equal
// it or the binary is refused. Install the atom-provider-<id> name.
//
// # Verification
//
// With Config.Verify on, a binary is served only if its SHA-256 matches its
// line in the lock file (default Dir/plugins.lock), one line per binary:
//
//	<sha256 hex>  <file name>
//
// The binary is first copied to a private file under Config.DataDir and
// hashed while copying; nothing is executed before that checksum matched.
// The private copy is what runs: in a sandbox, its init step hashes the
// descriptor it then executes; unsandboxed, go-plugin hashes it before
// the start (a fresh SecureConfig per start). Replacing the file in Dir
// between the check and the start has no effect. A refused binary is
// logged and listed with state "refused" and the reason. Install (admin
// uploads) follows the same order and never writes the lock file: with
// verification on, the operator pins what may run.
//
// # Processes
//
// A plugin's process starts on its first call (or once at discovery to
// read a manifest not yet cached for that checksum), is pinged every
// Config.HealthInterval, is stopped after Config.IdleTimeout without calls,
// and is restarted on the next call after a crash (at once the first time,
// with exponential backoff while it keeps crashing). Processes run without
// the host's environment (SkipHostEnv), die with the host (Pdeathsig), and
// talk to the host over AutoMTLS. On Linux as root each process runs in a
// sandbox (Config.Isolation): its own uid, PID, mount, IPC and UTS
// namespaces, the data and plugin dirs hidden, rlimits, no_new_privs. Calls in flight when a process dies fail
// with an error wrapping runtime.ErrUnavailable. Each plugin admits at most
// Config.MaxConcurrent calls at once; each call is bounded by
// Config.CallTimeout.
//
// # Network and credentials
//
// A plugin's only way out is the host (egress.go): the SDK sends each of
// its requests over the Host service's HTTP call, and the host sends it
// with Config.Outbound (the client pieces and the generic runtime use)
// only to the manifest's AllowedHosts or the host of the execution's base
// URL. Unless the manifest sets RawCredentials, the credentials a plugin
// receives are placeholders valid for one execution, which the host
// replaces with the secrets on the way out. On Linux, as root or where
// user namespaces are allowed, processes start in a network namespace of
// their own with no route (netns_linux.go), so dialing directly fails;
// elsewhere only the SDK's routing keeps requests under the policy.
//
// # Hot loading
//
// The directory is watched (fsnotify). Changes to a file are debounced
// (Config.Debounce) so editors and cp writing in place are read once
// complete; writers should still prefer writing a temporary file and
// renaming it into place. A new binary is verified, started and
// registered; a replaced one is started beside the old, traffic moves with
// an atomic pointer swap, and the old one drains its in-flight calls and
// stops; a removed binary unregisters and drains. No call fails because
// of a reload.
package native
