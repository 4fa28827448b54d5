package provider

import (
	"errors"
	"fmt"
	"strings"
)

// DiagnosticError is an error that carries diagnostics for the user. A
// handler that returns one (or wraps one) fails its execution with exactly
// those diagnostics.
type DiagnosticError struct {
	Diagnostics []Diagnostic
}

// Error joins the summaries of the diagnostics.
func (e *DiagnosticError) Error() string {
	parts := make([]string, 0, len(e.Diagnostics))
	for _, d := range e.Diagnostics {
		s := d.Summary
		if d.Field != "" {
			s = d.Field + ": " + s
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, "; ")
}

// UserError returns an error diagnostic about an input field, for input the
// host's schema check let through but the provider cannot use. field may be
// empty when no single field is at fault.
func UserError(field, summary string) error {
	return &DiagnosticError{Diagnostics: []Diagnostic{{
		Severity: SeverityError,
		Summary:  summary,
		Field:    field,
	}}}
}

// Errorf returns an error diagnostic with a formatted summary.
func Errorf(format string, args ...any) error {
	return &DiagnosticError{Diagnostics: []Diagnostic{{
		Severity: SeverityError,
		Summary:  fmt.Sprintf(format, args...),
	}}}
}

// Diagnose returns an error carrying ds as they are.
func Diagnose(ds ...Diagnostic) error {
	return &DiagnosticError{Diagnostics: ds}
}

// Diagnostics turns an error returned by a handler into diagnostics:
// a DiagnosticError gives its own, an *HTTPError one carrying the upstream
// status and message, an *EgressError one carrying its class (Status),
// and any other error one error diagnostic with its text.
func Diagnostics(err error) []Diagnostic {
	if err == nil {
		return nil
	}
	var de *DiagnosticError
	if errors.As(err, &de) {
		return de.Diagnostics
	}
	var he *HTTPError
	if errors.As(err, &he) {
		return []Diagnostic{he.Diagnostic()}
	}
	var ee *EgressError
	if errors.As(err, &ee) {
		return []Diagnostic{{Severity: SeverityError, Summary: err.Error(), Status: ee.Status()}}
	}
	return []Diagnostic{{Severity: SeverityError, Summary: err.Error()}}
}
