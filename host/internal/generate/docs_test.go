package generate_test

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/atomhq/atom/catalog"
	"github.com/atomhq/atom/host/internal/generate"
)

// exampleBlock finds, in docs/descriptors.md, the command line written in
// the comment `<!-- example: atom generate integration ... -->` and the
// ```json block that follows it.
var exampleBlock = regexp.MustCompile("(?s)<!-- example: atom (generate integration [^>]*?) -->\\s*```json\\n(.*?)```")

// TestDescriptorDocExample runs the `atom generate integration` command
// that docs/descriptors.md names and checks that the descriptor it writes
// is, field for field, the complete example printed there, and that the
// example passes the same checks as `atom catalog validate`.
func TestDescriptorDocExample(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join(repoRoot, "docs", "descriptors.md"))
	if err != nil {
		t.Fatal(err)
	}
	m := exampleBlock.FindSubmatch(doc)
	if m == nil {
		t.Fatal("docs/descriptors.md has no `<!-- example: atom generate integration ... -->` comment followed by a ```json block")
	}
	args := strings.Fields(string(m[1]))
	root := miniRepo(t)
	if err := generate.Main(append(args[1:], "--dir", root), io.Discard); err != nil {
		t.Fatalf("atom %s: %v", m[1], err)
	}
	var provider string
	for i, a := range args {
		if a == "--provider" && i+1 < len(args) {
			provider = args[i+1]
		}
	}
	got, err := os.ReadFile(filepath.Join(root, "catalog", "data", provider+".json"))
	if err != nil {
		t.Fatal(err)
	}
	if !sameJSON(t, got, m[2]) {
		t.Errorf("the example in docs/descriptors.md differs from what `atom %s` writes; it writes:\n%s", m[1], got)
	}
	if _, err := catalog.CheckFile(provider+".json", m[2]); err != nil {
		t.Errorf("the example does not validate: %v", err)
	}
}

func sameJSON(t *testing.T, a, b []byte) bool {
	t.Helper()
	var x, y any
	if err := json.Unmarshal(a, &x); err != nil {
		t.Fatalf("generated descriptor: %v", err)
	}
	if err := json.Unmarshal(b, &y); err != nil {
		t.Fatalf("example in the docs: %v", err)
	}
	xb, _ := json.Marshal(x)
	yb, _ := json.Marshal(y)
	return bytes.Equal(xb, yb)
}
