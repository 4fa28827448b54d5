package engine

import (
	"fmt"
	"net/http"

	"github.com/atomhq/atom/host/internal/runtimes"
)

// CodeDescriptorMissing: a native plugin serves a provider id the catalog
// has no descriptor for, so the host cannot tell which credentials, base
// URL or auth way its calls need. Its actions are refused until the
// operator adds the descriptor (the catalog is reloaded on change).
const CodeDescriptorMissing = "descriptor_missing"

func init() { statusOfCode[CodeDescriptorMissing] = http.StatusServiceUnavailable }

// noDescriptor returns the refusal of a native plugin's action whose
// provider has no catalog descriptor, or nil when impl is not native.
func noDescriptor(res *Result, providerID string, impl runtimes.Implementation) *Result {
	if impl.Kind() != runtimes.KindNative {
		return nil
	}
	res.Status, res.Code = http.StatusServiceUnavailable, CodeDescriptorMissing
	res.Message = fmt.Sprintf("the native plugin for %q is installed but the catalog has no descriptor for %q, "+
		"so the host does not know how to connect it: add %s.json to the catalog (ATOM_CATALOG_DIR) with its auth and API base URL",
		providerID, providerID, providerID)
	return res
}

// DescriptorWarning is logged when a native plugin is loaded for an id the
// catalog does not describe.
const DescriptorWarning = "native plugin has no catalog descriptor: its actions are refused (503 descriptor_missing) until one is added to the catalog"
