package catalog

import (
	"bytes"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"sigs.k8s.io/yaml"
)

// compiledSchema is schema.json compiled once per process.
var compiledSchema = sync.OnceValues(func() (*jsonschema.Schema, error) {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(SchemaJSON))
	if err != nil {
		return nil, err
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("schema.json", doc); err != nil {
		return nil, err
	}
	return c.Compile("schema.json")
})

// ValidateSchema checks one descriptor file (JSON, or YAML when name ends
// in .yaml or .yml) against schema.json. The error is a *FieldError
// naming name, the first failing field and the problem.
func ValidateSchema(name string, data []byte) error {
	sch, err := compiledSchema()
	if err != nil {
		return fmt.Errorf("catalog: schema.json: %w", err)
	}
	switch strings.ToLower(filepath.Ext(name)) {
	case ".yaml", ".yml":
		if data, err = yaml.YAMLToJSON(data); err != nil {
			return &FieldError{File: name, Problem: "invalid YAML: " + err.Error()}
		}
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		return &FieldError{File: name, Problem: "invalid JSON: " + err.Error()}
	}
	err = sch.Validate(inst)
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return err
	}
	// Report the deepest failing location: it names the field.
	best := jsonschema.OutputUnit{}
	for _, u := range ve.BasicOutput().Errors {
		if u.Error != nil && len(u.InstanceLocation) >= len(best.InstanceLocation) {
			best = u
		}
	}
	field := strings.ReplaceAll(strings.TrimPrefix(best.InstanceLocation, "/"), "/", ".")
	problem := "does not match the descriptor schema"
	if best.Error != nil {
		problem = best.Error.String()
	}
	return &FieldError{File: name, Field: field, Problem: problem}
}
