package api

import (
	_ "embed"
	"sync"

	"github.com/gofiber/fiber/v2"
	"sigs.k8s.io/yaml"
)

// openAPIYAML is the OpenAPI 3.1 document of the REST API, written in
// YAML for reading and served as JSON. host/internal/apiclient generates
// the Go client from it; openapi_test.go checks it against the routes.
//
//go:embed openapi.yaml
var openAPIYAML []byte

var openAPIJSON = sync.OnceValues(func() ([]byte, error) { return yaml.YAMLToJSON(openAPIYAML) })

// OpenAPIYAML returns the OpenAPI document as written (YAML).
func OpenAPIYAML() []byte { return append([]byte(nil), openAPIYAML...) }

// OpenAPIJSON returns the OpenAPI document as JSON, the form served at
// GET /openapi.json.
func OpenAPIJSON() ([]byte, error) {
	b, err := openAPIJSON()
	if err != nil {
		return nil, err
	}
	return append([]byte(nil), b...), nil
}

// openAPI serves GET /openapi.json (public: the document holds no secret).
func (s *Server) openAPI(c *fiber.Ctx) error {
	b, err := openAPIJSON()
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSON)
	c.Set(fiber.HeaderCacheControl, "public, max-age=300")
	return c.Send(b)
}
