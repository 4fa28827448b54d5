package providertest

import (
	"bytes"
	"path/filepath"
	"testing"

	"github.com/atomhq/atom/sdk/provider"
)

// Case is one action call of a table test run by RunCases.
type Case struct {
	// Name names the subtest and the golden files
	// <Name>.request.golden and <Name>.response.golden.
	Name string
	// Action is the action to execute with Input (JSON, in which the
	// suite's Placeholder stands for the fake's URL) and Creds.
	Action string
	Input  string
	Creds  provider.Credentials
	// Failed says whether the response is expected to carry an error
	// diagnostic.
	Failed bool
	// Options are added to the Run of this case (e.g. Tenant, WithHost).
	Options []Option
}

// Suite says how RunCases runs a table of cases against a provider.
type Suite struct {
	// New returns the provider under test; it is called for every case.
	New func() provider.Provider
	// Fake starts a fresh fake API for one case.
	Fake func(t testing.TB) *Recorder
	// Dir is the directory of the golden files; "testdata" when empty.
	Dir string
	// Path is appended to the fake's URL to make the request's base URL
	// (e.g. "/v2" for an API whose base URL has a path).
	Path string
	// Placeholder stands for the fake's URL in Input and in the golden
	// files; "{fake}" when empty.
	Placeholder string
	// GRPC runs the whole table twice, in subtests "direct" (in-process)
	// and "grpc" (through one go-plugin gRPC connection per table).
	GRPC bool
}

// RunCases runs each case as a subtest against a fresh fake: it executes
// the action, checks Failed, and compares the requests the fake recorded
// and the response (rendered by Pretty) with golden files. The fake's URL
// reads as the suite's Placeholder in both.
func RunCases(t *testing.T, s Suite, cases []Case) {
	t.Helper()
	if !s.GRPC {
		s.run(t, cases, nil)
		return
	}
	t.Run("direct", func(t *testing.T) { s.run(t, cases, nil) })
	t.Run("grpc", func(t *testing.T) { s.run(t, cases, []Option{Using(Serve(t, s.New()))}) })
}

func (s Suite) run(t *testing.T, cases []Case, via []Option) {
	dir, placeholder := s.Dir, []byte(s.Placeholder)
	if dir == "" {
		dir = "testdata"
	}
	if len(placeholder) == 0 {
		placeholder = []byte("{fake}")
	}
	for _, tc := range cases {
		t.Run(tc.Name, func(t *testing.T) {
			fake := s.Fake(t)
			url := []byte(fake.URL)
			opts := append([]Option{BaseURL(fake.URL + s.Path)}, via...)
			opts = append(opts, tc.Options...)
			input := bytes.ReplaceAll([]byte(tc.Input), placeholder, url)
			resp := Run(t, s.New(), tc.Action, input, tc.Creds, opts...)
			if resp.Failed() != tc.Failed {
				t.Fatalf("failed = %v, want %v: %+v", resp.Failed(), tc.Failed, resp.Diagnostics)
			}
			Golden(t, filepath.Join(dir, tc.Name+".request.golden"), bytes.ReplaceAll(fake.Take(), url, placeholder))
			Golden(t, filepath.Join(dir, tc.Name+".response.golden"), bytes.ReplaceAll(Pretty(t, resp), url, placeholder))
		})
	}
}
