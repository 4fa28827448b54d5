package native

import (
	"math/rand/v2"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// placeholderRE is the placeholder grammar as a regular expression, the
// reference replacePlaceholders is checked against.
var placeholderRE = regexp.MustCompile(`atom-cred-([0-9a-f]{32})-([0-9a-f]{4})`)

// TestReplacePlaceholders: the scanner finds exactly the placeholders the
// regular expression finds, in the same places, with the same nonce and
// slot, on strings built from fragments of placeholders, near misses
// (upper case, short, truncated, doubled prefixes) and other text.
func TestReplacePlaceholders(t *testing.T) {
	nonce := strings.Repeat("0123456789abcdef", 2)
	frags := []string{
		"atom-cred-" + nonce + "-0001", "atom-cred-" + nonce + "-ffff", "atom-cred-", "atom-cred-atom-cred-",
		"atom-cred-" + strings.ToUpper(nonce) + "-0001", "atom-cred-" + nonce[:31] + "-0001", "atom-cred-" + nonce + "-001",
		"atom-cred-" + nonce + "_0001", nonce, "-0002", "a", "Bearer ", "é", "\x00", "atom-", "cred-", "9",
	}
	rng := rand.New(rand.NewPCG(1, 2))
	ref := func(s string) string {
		return placeholderRE.ReplaceAllStringFunc(s, func(m string) string {
			sub := placeholderRE.FindStringSubmatch(m)
			slot, _ := strconv.ParseUint(sub[2], 16, 32)
			return "<" + sub[1] + "/" + strconv.FormatUint(slot, 10) + ">"
		})
	}
	for range 50000 {
		var b strings.Builder
		for range rng.IntN(8) {
			b.WriteString(frags[rng.IntN(len(frags))])
		}
		s := b.String()
		got := replacePlaceholders(s, func(whole, n string, slot uint64) string {
			if _, _, ok := placeholderAt(whole); !ok || !strings.Contains(whole, n) {
				t.Fatalf("%q: handed %q, not a placeholder holding %q", s, whole, n)
			}
			return "<" + n + "/" + strconv.FormatUint(slot, 10) + ">"
		})
		if want := ref(s); got != want {
			t.Fatalf("%q:\n got %q\nwant %q", s, got, want)
		}
	}
}

// BenchmarkFillHeader is the substitution of the one placeholder of a
// bearer header, as every request of a plugin with an API key needs: the
// scanner in use beside the regular expression it replaced, in one run.
func BenchmarkFillHeader(b *testing.B) {
	c := &egressCall{nonce: strings.Repeat("ab", 16), secrets: []string{"sk_test_bench_0123456789"}}
	v := "Bearer atom-cred-" + c.nonce + "-0000"
	const want = "Bearer sk_test_bench_0123456789"
	b.Run("scanner", func(b *testing.B) {
		for b.Loop() {
			if out, err := c.fillHeader("Authorization", v); err != nil || out != want {
				b.Fatal(out, err)
			}
		}
	})
	b.Run("regexp", func(b *testing.B) {
		for b.Loop() {
			out := placeholderRE.ReplaceAllStringFunc(v, func(m string) string {
				sub := placeholderRE.FindStringSubmatch(m)
				slot, _ := strconv.ParseUint(sub[2], 16, 32)
				if sub[1] != c.nonce || int(slot) >= len(c.secrets) {
					return m
				}
				return c.secrets[slot]
			})
			if out != want {
				b.Fatal(out)
			}
		}
	})
}
