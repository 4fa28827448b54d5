package fakeprovider

import (
	"net/http/httptest"
	"strings"
	"testing"
)

// TestOAuth1BaseStringRFC5849 checks the base string against the example
// of RFC 5849 section 3.4.1.1.
func TestOAuth1BaseStringRFC5849(t *testing.T) {
	r := httptest.NewRequest("POST", "http://example.com/request?b5=%3D%253D&a3=a&c%40=&a2=r%20b", strings.NewReader("c2&a3=2+q"))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.Header.Set("Authorization", `OAuth realm="Example", oauth_consumer_key="9djdj82h48djs9d2", oauth_token="kkk9d7dh3k39sjv7", oauth_signature_method="HMAC-SHA1", oauth_timestamp="137131201", oauth_nonce="7d8f3e4a", oauth_signature="bYT5CMsGcbgUdFHObYMEfcx6bsw%3D"`)
	p, err := readOAuth1(r)
	if err != nil {
		t.Fatal(err)
	}
	want := "POST&http%3A%2F%2Fexample.com%2Frequest&a2%3Dr%2520b%26a3%3D2%2520q%26a3%3Da%26b5%3D%253D%25253D%26c%2540%3D%26c2%3D%26oauth_consumer_key%3D9djdj82h48djs9d2%26oauth_nonce%3D7d8f3e4a%26oauth_signature_method%3DHMAC-SHA1%26oauth_timestamp%3D137131201%26oauth_token%3Dkkk9d7dh3k39sjv7"
	if got := o1BaseString(r.Method, "http", r.Host, r.URL.EscapedPath(), p.all); got != want {
		t.Fatalf("base string\n got %s\nwant %s", got, want)
	}
	if p.oauth["oauth_signature"] != "bYT5CMsGcbgUdFHObYMEfcx6bsw=" {
		t.Fatalf("signature parsed as %q", p.oauth["oauth_signature"])
	}
}

// TestOAuth1SignatureRFC5849 checks HMAC-SHA1 against the protected
// resource request of RFC 5849 section 1.2.
func TestOAuth1SignatureRFC5849(t *testing.T) {
	params := [][2]string{
		{"file", "vacation.jpg"}, {"size", "original"},
		{"oauth_consumer_key", "dpf43f3p2l4k3l03"}, {"oauth_token", "nnch734d00sl2jdk"},
		{"oauth_signature_method", "HMAC-SHA1"}, {"oauth_timestamp", "137131202"}, {"oauth_nonce", "chapoH"},
	}
	base := o1BaseString("GET", "HTTP", "Photos.example.net:80", "/photos", params)
	if got := o1Sign(base, "kd94hf93k423kf44", "pfkkdhi9sl3r4s00"); got != "MdpQcU8iPSUjWoN/UDMsK2sui9I=" {
		t.Fatalf("signature = %s", got)
	}
}
