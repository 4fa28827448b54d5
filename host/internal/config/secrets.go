package config

import (
	"fmt"
	"sort"
	"strings"
)

// FileSuffix marks a variable that names a file holding a secret:
// ATOM_ENCRYPTION_KEYS_FILE=/run/secrets/atom-keys supplies
// ATOM_ENCRYPTION_KEYS from that file (one value; a trailing newline is
// dropped), so the secret never enters the host's environment.
const FileSuffix = "_FILE"

// secretSuffixes end the names of {PROVIDER}_* variables that hold
// secrets.
var secretSuffixes = []string{"_CLIENT_SECRET", "_API_KEY", "_SECRET", "_PASSWORD", "_TOKEN", "_PRIVATE_KEY"}

// IsSecret reports whether the variable name holds a secret the host must
// not keep in its environment once read: the key ring, the admin key, the
// database URLs (which may carry a password) and every
// {PROVIDER}_CLIENT_SECRET, _API_KEY, _SECRET, _PASSWORD, _TOKEN and
// _PRIVATE_KEY.
func IsSecret(name string) bool {
	switch name {
	case "ATOM_ENCRYPTION_KEYS", "ATOM_ADMIN_KEY", "ATOM_DATABASE_URL", "ATOM_MIGRATE_DATABASE_URL":
		return true
	}
	for _, s := range secretSuffixes {
		if strings.HasSuffix(name, s) && len(name) > len(s) {
			return true
		}
	}
	return false
}

// Env is the host's environment read once at start, with the secrets of
// NAME_FILE variables read from their files.
type Env struct {
	vals map[string]string
	// Secrets are the names of the variables of the process environment
	// that hold secrets (IsSecret), for Scrub.
	Secrets []string
}

// ReadEnv reads environ (os.Environ()) and, for every secret NAME with a
// NAME_FILE variable, the file it names (through readFile). Setting both
// NAME (not empty) and NAME_FILE is an error: one of them would be
// silently ignored.
func ReadEnv(environ []string, readFile func(string) ([]byte, error)) (*Env, error) {
	e := &Env{vals: map[string]string{}}
	for _, kv := range environ {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			continue
		}
		e.vals[k] = v
		if IsSecret(k) {
			e.Secrets = append(e.Secrets, k)
		}
	}
	var errs []string
	for k, path := range e.vals {
		name, ok := strings.CutSuffix(k, FileSuffix)
		if !ok || !IsSecret(name) || path == "" {
			continue
		}
		if v, both := e.vals[name]; both && v != "" {
			errs = append(errs, fmt.Sprintf("%s and %s are both set: keep one", name, k))
			continue
		}
		b, err := readFile(path)
		if err != nil {
			errs = append(errs, fmt.Sprintf("%s: %v", k, err))
			continue
		}
		e.vals[name] = strings.TrimRight(string(b), "\r\n")
	}
	if len(errs) > 0 {
		sort.Strings(errs)
		return nil, fmt.Errorf("%s", strings.Join(errs, "; "))
	}
	sort.Strings(e.Secrets)
	return e, nil
}

// Get returns the value of a variable ("" when unset).
func (e *Env) Get(name string) string { return e.vals[name] }

// Scrub removes the secret variables from the process environment through
// unsetenv. Go's own copy is cleared, so nothing in the host (a child
// process given os.Environ(), a later os.Getenv) sees them again. The
// kernel's copy in /proc/<pid>/environ, which is the environment the
// process was executed with, is not rewritten; it stays readable only by
// root once the host is non-dumpable (native.HardenHost), and isolated
// plugin processes cannot see the host's /proc at all. Production hosts
// pass secrets through NAME_FILE so that the environment never holds them.
func (e *Env) Scrub(unsetenv func(string) error) error {
	for _, k := range e.Secrets {
		if err := unsetenv(k); err != nil {
			return err
		}
	}
	return nil
}
