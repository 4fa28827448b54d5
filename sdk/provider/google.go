package provider

import (
	"encoding/json"
	"strings"
)

// DecodeGoogleError reads the error body Google APIs return,
//
//	{"error":{"code":404,"message":"File not found: x.","status":"NOT_FOUND",
//	  "errors":[{"domain":"global","reason":"notFound","location":"fileId","locationType":"parameter"}]}}
//
// into e: Message is the message, Code the status (or the numeric code),
// Type the first reason and Field the first location of a parameter.
// Other bodies (an OAuth {"error","error_description"} pair, plain text)
// are read as HTTPOptions' default decoder reads them. Set it as
// HTTPOptions.DecodeError for any Google API.
func DecodeGoogleError(e *HTTPError, body []byte) {
	var v struct {
		Error struct {
			Code    json.RawMessage `json:"code"`
			Message string          `json:"message"`
			Status  string          `json:"status"`
			Errors  []struct {
				Reason       string `json:"reason"`
				Message      string `json:"message"`
				Location     string `json:"location"`
				LocationType string `json:"locationType"`
			} `json:"errors"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &v) != nil || (v.Error.Message == "" && v.Error.Status == "" && len(v.Error.Errors) == 0) {
		decodeCommonError(e, body)
		return
	}
	g := v.Error
	e.Message = g.Message
	e.Code = g.Status
	if e.Code == "" {
		e.Code = rawString(g.Code)
	}
	for _, d := range g.Errors {
		if e.Type == "" {
			e.Type = d.Reason
		}
		if e.Message == "" {
			e.Message = d.Message
		}
		if e.Field == "" && d.Location != "" && !strings.EqualFold(d.LocationType, "header") {
			e.Field = d.Location
		}
	}
}
