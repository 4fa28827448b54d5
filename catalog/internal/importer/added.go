package importer

import (
	"fmt"

	"github.com/atomhq/atom/catalog"
)

// Added converts one entry of the overrides file's "add" list into the
// descriptor Import produces for it: decoded strictly, marked as the
// catalog's own (Source "atom"), with connectability and implementations
// computed and the result validated. name labels errors.
func Added(name string, raw []byte) (*catalog.Descriptor, error) {
	d, err := catalog.DecodeDescriptor(name, raw)
	if err != nil {
		return nil, err
	}
	d.Source = "atom"
	d.Connectable, d.NotConnectableReason, d.Implementations = false, "", nil
	finish(d, "")
	if err := catalog.Validate(d); err != nil {
		return nil, fmt.Errorf("overrides add %s: %w", d.ID, err)
	}
	return d, nil
}
