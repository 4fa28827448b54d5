package catalog

import (
	"bytes"
	"encoding/json"
	"errors"
	"path/filepath"
	"strconv"
	"strings"

	yamlv3 "go.yaml.in/yaml/v3"
)

// CheckFile checks one descriptor file the way the host checks a file of
// its custom directory (strict decoding, the descriptor's own rules, then
// the JSON Schema) and returns the first problem as a *FieldError whose
// Line is the line of the field in data (of its parent object for a
// missing field; 0 when the file cannot be parsed into fields at all).
func CheckFile(name string, data []byte) (*Descriptor, error) {
	d, err := DecodeDescriptor(name, data)
	if err == nil {
		err = ValidateSchema(name, data)
	}
	var fe *FieldError
	if errors.As(err, &fe) {
		fe.Line = FieldLine(name, data, fe.Field)
		return nil, fe
	}
	if err != nil {
		return nil, err
	}
	return d, nil
}

// FieldLine returns the 1-based line of the field named by a dotted path
// ("auth.kind", "auth.scopes[2]", "auth_alternatives.0.kind") in a JSON
// or, when name ends in .yaml or .yml, YAML document. When the path does
// not exist in full, it returns the line of its deepest existing part; 0
// when nothing matches or the document cannot be parsed.
func FieldLine(name string, data []byte, field string) int {
	path := splitFieldPath(field)
	switch strings.ToLower(filepath.Ext(name)) {
	case ".yaml", ".yml":
		var doc yamlv3.Node
		if err := yamlv3.Unmarshal(data, &doc); err != nil || len(doc.Content) == 0 {
			return 0
		}
		return yamlLine(doc.Content[0], path)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	tok, err := dec.Token()
	if err != nil {
		return 0
	}
	w := jsonWalker{dec: dec, data: data}
	line := w.line()
	if deeper := w.find(tok, path); deeper > 0 {
		return deeper
	}
	if len(path) == 0 {
		return line
	}
	return 0
}

// splitFieldPath turns "a.b[2].c" into ["a", "b", "2", "c"].
func splitFieldPath(field string) []string {
	field = strings.ReplaceAll(field, "[", ".")
	field = strings.ReplaceAll(field, "]", "")
	var out []string
	for _, p := range strings.Split(field, ".") {
		if p != "" {
			out = append(out, p)
		}
	}
	return out
}

func yamlLine(n *yamlv3.Node, path []string) int {
	for n.Kind == yamlv3.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	if len(path) == 0 {
		return n.Line
	}
	switch n.Kind {
	case yamlv3.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == path[0] {
				if deeper := yamlLine(n.Content[i+1], path[1:]); deeper > 0 && len(path) > 1 {
					return deeper
				}
				return n.Content[i].Line
			}
		}
	case yamlv3.SequenceNode:
		if i, err := strconv.Atoi(path[0]); err == nil && i >= 0 && i < len(n.Content) {
			return yamlLine(n.Content[i], path[1:])
		}
	}
	return n.Line
}

// jsonWalker finds the line of a path in a JSON document by reading its
// tokens, so the offsets are those of the original bytes.
type jsonWalker struct {
	dec  *json.Decoder
	data []byte
}

// line is the line of the end of the last token read.
func (w *jsonWalker) line() int {
	off := w.dec.InputOffset()
	if off > int64(len(w.data)) {
		off = int64(len(w.data))
	}
	return bytes.Count(w.data[:off], []byte{'\n'}) + 1
}

// find looks for path inside the value that starts with tok; it returns
// the line of the deepest part of path found, or 0.
func (w *jsonWalker) find(tok json.Token, path []string) int {
	d, ok := tok.(json.Delim)
	if !ok || len(path) == 0 {
		return 0
	}
	switch d {
	case '{':
		for w.dec.More() {
			kt, err := w.dec.Token()
			if err != nil {
				return 0
			}
			keyLine := w.line()
			vt, err := w.dec.Token()
			if err != nil {
				return 0
			}
			if k, _ := kt.(string); k == path[0] {
				if deeper := w.find(vt, path[1:]); deeper > 0 {
					return deeper
				}
				return keyLine
			}
			if !w.skip(vt) {
				return 0
			}
		}
	case '[':
		for i := 0; w.dec.More(); i++ {
			et, err := w.dec.Token()
			if err != nil {
				return 0
			}
			if strconv.Itoa(i) == path[0] {
				elemLine := w.line()
				if deeper := w.find(et, path[1:]); deeper > 0 {
					return deeper
				}
				return elemLine
			}
			if !w.skip(et) {
				return 0
			}
		}
	}
	return 0
}

// skip reads the rest of the value that starts with tok.
func (w *jsonWalker) skip(tok json.Token) bool {
	d, ok := tok.(json.Delim)
	if !ok {
		return true
	}
	if d != '{' && d != '[' {
		return true
	}
	for depth := 1; depth > 0; {
		t, err := w.dec.Token()
		if err != nil {
			return false
		}
		if d, ok := t.(json.Delim); ok {
			switch d {
			case '{', '[':
				depth++
			default:
				depth--
			}
		}
	}
	return true
}
