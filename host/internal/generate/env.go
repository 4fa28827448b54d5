package generate

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"strings"
)

func jsonEncoder(w io.Writer) *json.Encoder {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc
}

// AppendEnv appends to the env file at path the lines (NAME="value") whose
// variable it does not set yet, under a comment naming the provider and
// its auth kind, and returns the names it appended. Commented-out
// mentions do not count as set. A missing file is created. Running it
// again changes nothing.
func AppendEnv(path, name, auth string, lines []string) ([]string, error) {
	src, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	set := map[string]bool{}
	for _, l := range strings.Split(string(src), "\n") {
		l = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(l), "export "))
		if k, _, ok := strings.Cut(l, "="); ok && !strings.HasPrefix(l, "#") {
			set[strings.TrimSpace(k)] = true
		}
	}
	var add, names []string
	for _, l := range lines {
		k, _, _ := strings.Cut(l, "=")
		if !set[k] {
			add = append(add, l)
			names = append(names, k)
			set[k] = true
		}
	}
	if len(add) == 0 {
		return nil, nil
	}
	var b bytes.Buffer
	b.Write(src)
	if len(src) > 0 && !bytes.HasSuffix(src, []byte("\n")) {
		b.WriteByte('\n')
	}
	if len(src) > 0 {
		b.WriteByte('\n')
	}
	b.WriteString("# " + name + " (" + auth + ")\n")
	for _, l := range add {
		b.WriteString(l + "\n")
	}
	return names, os.WriteFile(path, b.Bytes(), 0o644)
}
