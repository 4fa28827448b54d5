package sqlcore

import (
	"bytes"
	"testing"
)

func TestJSONB(t *testing.T) {
	for _, tc := range []struct {
		in   string
		safe bool
	}{
		{`{"a":"b"}`, true},
		{`{"a":"\\u0000"}`, true},
		{`"\ud83d\ude00"`, true},
		{`[1e308, -2.5E-10, true, false, null]`, true},
		{`{"a":"\u0000"}`, false},
		{"\"\x00\"", false},
		{"\"\xff\"", false},
		{`"\ud800"`, false},
		{`"\ud800\u0041"`, false},
		{`"\udfff"`, false},
		{`"\u12"`, false},
		{`1e-99999`, false},
		{`1e1000`, false},
		{`"1e-99999"`, true},
	} {
		if got := JSONBSafe([]byte(tc.in)); got != tc.safe {
			t.Errorf("JSONBSafe(%q) = %v", tc.in, got)
		}
		enc := EncodeJSONB([]byte(tc.in))
		if tc.safe != bytes.Equal(enc, []byte(tc.in)) {
			t.Errorf("EncodeJSONB(%q) = %q", tc.in, enc)
		}
		if !JSONBSafe(enc) {
			t.Errorf("EncodeJSONB(%q) = %q, which jsonb refuses", tc.in, enc)
		}
		// jsonb prints the stand-in with a space after the colon.
		printed := bytes.Replace(enc, []byte(`":"`), []byte(`": "`), 1)
		if dec, err := DecodeJSONB(printed); !tc.safe && (err != nil || string(dec) != tc.in) {
			t.Errorf("DecodeJSONB(%q) = %q, %v", printed, dec, err)
		}
	}
}

// BenchmarkEncodeJSONB measures the check every JSON write pays, on a
// typical 4 KiB execution output.
func BenchmarkEncodeJSONB(b *testing.B) {
	out := []byte(`{"output":{"status":200,"headers":{"content-type":"application/json"},"body":{"items":[`)
	for len(out) < 4096 {
		out = append(out, `{"id":"cus_0123456789","name":"Ada \u00e9","amount":1999,"ok":true},`...)
	}
	out = append(out, `{}]}}}`...)
	b.SetBytes(int64(len(out)))
	for i := 0; i < b.N; i++ {
		EncodeJSONB(out)
	}
}
