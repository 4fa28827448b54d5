package piece

import (
	"bytes"
	"encoding/json"
	"math"
	"reflect"
	"strings"
	"testing"
)

// envelopeCases are request envelopes, well-formed and not, that the fast
// decoder must read as encoding/json does (or hand to it).
var envelopeCases = []string{
	`{"execution_id":"e","tenant_id":"t","action":"echo","input":{"text":"hi"}}`,
	`{"execution_id":"e","tenant_id":"t","action":"echo","input":{"text":"hi"},"base_url":"https://x.example/api"}`,
	" \n{ \"action\" : \"echo\" ,\t\"input\" : [ 1 , 2 ] } \r\n",
	`{"action":"echo","input":null}`,
	`{"action":null,"input":{}}`,
	`{"action":"echo","action":"raw","input":1,"input":"two"}`,
	`{"action":"echo","action":null}`,
	`{"action":"ech\u006f","tenant_id":"t\"\\\/\b\f\n\r\t\u00e9\ud83d\ude00"}`,
	`{"action":"é","tenant_id":"日本語","execution_id":"\ud800"}`,
	"{\"action\":\"\xff\xfe\",\"input\":\"\xff\"}",
	`{"Action":"echo","INPUT":{}}`,
	`{"actıon":"echo"}`,
	`{"act\u0069on":"echo"}`,
	`{"unknown":{"deep":[1,{"a":[true,false,null]}]},"action":"echo"}`,
	`{"action":"echo","input":{"a":-0.5e+10,"b":0,"c":-1,"d":1E-7,"e":12.5}}`,
	`{"action":5}`,
	`{"action":"echo","input":{"a":01}}`,
	`{"action":"echo","input":{"a":1.}}`,
	`{"action":"echo","input":{"a":-}}`,
	`{"action":"echo","input":{"a":"\x01"}}`,
	`{"action":"echo","input":{"a":"\q"}}`,
	`{"action":"echo","input":{"a":"\u12"}}`,
	`{"action":"echo","input":{"a":tru}}`,
	`{"action":"echo",}`,
	`{"action":"echo"} x`,
	`{"action":"echo"`,
	`{"action" "echo"}`,
	`[]`,
	`"echo"`,
	`null`,
	``,
	`{}`,
	`{"input":` + strings.Repeat("[", 1500) + strings.Repeat("]", 1500) + `}`,
	`{"input":` + strings.Repeat(`{"a":`, 20) + `1` + strings.Repeat("}", 20) + `}`,
	`{"action":"echo","input":{"big":"` + strings.Repeat("x\\n€", 50000) + `"}}`,
}

func TestDecodeExecuteInputMatchesEncodingJSON(t *testing.T) {
	for _, in := range envelopeCases {
		checkEnvelope(t, []byte(in))
	}
}

func checkEnvelope(t *testing.T, in []byte) {
	t.Helper()
	var want ExecuteInput
	wantErr := json.Unmarshal(in, &want)
	var got ExecuteInput
	if !decodeExecuteInput(in, &got) {
		return // encoding/json decides
	}
	if wantErr != nil {
		t.Fatalf("%.200q: fast path accepted what encoding/json refuses (%v)", in, wantErr)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%.200q:\n got %+v\nwant %+v", in, got, want)
	}
}

func FuzzDecodeExecuteInput(f *testing.F) {
	for _, in := range envelopeCases {
		f.Add([]byte(in))
	}
	f.Fuzz(func(t *testing.T, in []byte) { checkEnvelope(t, in) })
}

func TestDecodeFieldsMatchesEncodingJSON(t *testing.T) {
	inputs := []string{
		`{"text":"hi","n":1,"o":{"a":[1,2]},"z":null}`,
		`{"a":"1","a":"2"}`,
		`{"k\u00e9y":"v","ké":"w","\ud83d\ude00":true}`,
		`[1,2]`, `"s"`, `null`, ``, `{"a":}`, `{}`,
	}
	for _, in := range inputs {
		checkFields(t, []byte(in))
	}
}

func checkFields(t *testing.T, in []byte) {
	t.Helper()
	want := map[string]json.RawMessage{}
	wantErr := json.Unmarshal(in, &want)
	got := map[string]json.RawMessage{}
	if !decodeFields(in, got) {
		return
	}
	if wantErr != nil && len(want) != 0 {
		t.Fatalf("%q: encoding/json filled a map and failed", in)
	}
	if wantErr != nil {
		want = map[string]json.RawMessage{}
	}
	if len(got) != len(want) {
		t.Fatalf("%q: got %q, want %q", in, got, want)
	}
	for k, v := range want {
		if !bytes.Equal(got[k], v) {
			t.Fatalf("%q: key %q: got %q, want %q", in, k, got[k], v)
		}
	}
}

func FuzzDecodeFields(f *testing.F) {
	f.Add([]byte(`{"text":"hi","n":{"x":[1]}}`))
	f.Add([]byte(`{"a\u0041":"\u00e9"}`))
	f.Fuzz(func(t *testing.T, in []byte) { checkFields(t, in) })
}

func TestStringValueMatchesEncodingJSON(t *testing.T) {
	for _, v := range []string{`"hi"`, `"h\u00e9"`, `"é"`, "\"\xff\"", `null`, `1`, `{"a":1}`, `""`, `"a\"b"`} {
		var want string
		_ = json.Unmarshal([]byte(v), &want)
		if got := stringValue([]byte(v)); got != want {
			t.Errorf("%s: got %q, want %q", v, got, want)
		}
	}
}

// outputCases are action results the fast encoder must write exactly as
// json.Marshal does, or hand to it.
var outputCases = []any{
	nil, true, false, "", "hi", 0, -42, int64(math.MaxInt64), int32(-7), uint64(math.MaxUint64),
	0.0, math.Copysign(0, -1), 1.5, -2.25e-7, 1e-6, 9.99e-7, 1e20, 1e21, 123456789.123, 5e-324, math.MaxFloat64,
	"quote\" backslash\\ slash/ \b\f\n\r\t \x00\x01\x1f\x7f",
	"<script>&amp;</script>",
	"unicode é 日本語 😀 \u2028 \u2029 \ufffd",
	"invalid \xff \xc3\x28 \xed\xa0\x80 end",
	map[string]any{"b": 1, "a": []any{nil, "x", 2.5, map[string]any{}}, "c": map[string]any{"z": true}},
	map[string]any{"é": 1, "Z": 2, "a": 3, "<": 4},
	map[string]string{"k": "v", "": "empty"},
	map[string]any(nil), []any(nil), []string(nil), map[string]string(nil), []map[string]any(nil),
	[]any{}, []string{"a", "<b>"}, []map[string]any{{"a": 1}, nil},
	json.RawMessage(`{"a" : [1, 2, {"b": null}], "s": "x y"}`),
	json.RawMessage("\n\t{\"nested\":\t{\"raw\": \"\\u00e9\\n\"}}\n"),
	json.RawMessage(`"<tag>"`),
	json.RawMessage(`{"a":"\u2028"}`),
	json.RawMessage("\"\u2028\""),
	json.RawMessage(nil),
	json.RawMessage(`{"bad":}`),
	map[string]any{"raw": json.RawMessage(`[ 1 ,2 ]`)},
	map[string]any{"nan": math.NaN()},
	map[string]any{"inf": math.Inf(1)},
	map[string]any{"struct": struct{ A int }{1}, "f32": float32(0.1)},
	map[string]any{"ch": make(chan int)},
	struct {
		Name string `json:"name"`
	}{"x"},
	[]byte("bytes"),
	map[string]any{"big": strings.Repeat("é<\n", 100000)},
}

func TestAppendOutputMatchesMarshal(t *testing.T) {
	for _, v := range outputCases {
		want, wantErr := json.Marshal(v)
		got, err := appendOutput([]byte("prefix"), v)
		if (err == nil) != (wantErr == nil) || err != nil && err.Error() != wantErr.Error() {
			t.Fatalf("%#v: error %v, want %v", v, err, wantErr)
		}
		if err == nil && !bytes.Equal(got, append([]byte("prefix"), want...)) {
			t.Fatalf("%.200v:\n got %.300s\nwant prefix%.300s", v, got, want)
		}
	}
}

func FuzzAppendString(f *testing.F) {
	f.Add("hi <&> \u2028 \xff", 1.5)
	f.Fuzz(func(t *testing.T, s string, x float64) {
		v := map[string]any{s: []any{s, x}, "k": map[string]string{s: s}}
		want, wantErr := json.Marshal(v)
		got, err := appendOutput(nil, v)
		if (err == nil) != (wantErr == nil) || err == nil && !bytes.Equal(got, want) {
			t.Fatalf("got %s %v, want %s %v", got, err, want, wantErr)
		}
	})
}

func TestAppendFailureMatchesMarshal(t *testing.T) {
	for _, d := range []Diagnostic{
		{Severity: "error", Summary: "boom"},
		{Severity: "error", Summary: `unknown action "x<y>"`, Detail: "line\nbreak \xff", Field: "é", Status: 404},
		{Severity: "error", Summary: "", Status: -1},
	} {
		want, _ := json.Marshal(ResponseJSON{Diagnostics: []Diagnostic{d}})
		if got := appendFailure(nil, d); !bytes.Equal(got, want) {
			t.Errorf("got %s, want %s", got, want)
		}
	}
}

// TestFastPathsTaken checks that the common shapes do not fall back to
// encoding/json, which would make the comparisons above vacuous.
func TestFastPathsTaken(t *testing.T) {
	var req ExecuteInput
	for _, in := range envelopeCases[:9] {
		if !decodeExecuteInput([]byte(in), &req) {
			t.Errorf("%q fell back to encoding/json", in)
		}
	}
	if !decodeFields([]byte(`{"text":"hi","k\u00e9y":[1]}`), map[string]json.RawMessage{}) {
		t.Error("input fields fell back to encoding/json")
	}
	for _, v := range outputCases[:34] {
		if _, ok := appendValue(nil, v, 0); !ok {
			t.Errorf("%#v fell back to encoding/json", v)
		}
	}
}
