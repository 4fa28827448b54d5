package catalog_test

import (
	"errors"
	"sort"
	"testing"
	"time"

	"github.com/atomhq/atom/catalog"
)

func TestSearchFirstResult(t *testing.T) {
	c := load(t)
	cases := []struct {
		name, q, want string
	}{
		{"exact id", "slack", "slack"},
		{"exact name any case", "HubSpot", "hubspot"},
		{"prefix", "salesf", "salesforce"},
		{"name word", "teams", "microsoft-teams"},
		{"alias name", "gmail", "google-mail"},
		{"one typo short word", "slak", "slack"},
		{"one typo transposition", "shopfiy", "shopify"},
		{"two typos long word", "salesfroce", "salesforce"},
		{"multi word", "google drive", "google-drive"},
		{"action name", "send_channel_message", "slack"},
		{"action words", "create payment intent", "stripe"},
		{"domain suffix", "monday.com", "monday"},
		{"native before unconnectable", "git", "github"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := c.Search(catalog.Query{Q: tc.q, Limit: 5})
			if len(p.Items) == 0 {
				t.Fatalf("q=%q: no results", tc.q)
			}
			if p.Items[0].ID != tc.want {
				t.Errorf("q=%q: first result %s, want %s (top: %v)", tc.q, p.Items[0].ID, tc.want, ids(p.Items))
			}
		})
	}
}

func ids(ds []*catalog.Descriptor) []string {
	out := make([]string, len(ds))
	for i, d := range ds {
		out[i] = d.ID
	}
	return out
}

func TestSearchCategoryWord(t *testing.T) {
	c := load(t)
	p := c.Search(catalog.Query{Q: "crm", Limit: 20})
	if p.Total < 100 {
		t.Fatalf("q=crm: %d results, want the CRM category", p.Total)
	}
	for _, d := range p.Items {
		if !contains(d.Categories, "crm") {
			t.Errorf("q=crm: %s (%v) is not a CRM system", d.ID, d.Categories)
		}
	}
	all := c.Search(catalog.Query{Q: "crm", Limit: catalog.MaxLimit})
	for _, want := range []string{"salesforce", "hubspot", "pipedrive"} {
		if !contains(ids(all.Items), want) {
			t.Errorf("q=crm misses %s", want)
		}
	}
	for _, q := range []string{"storage", "AI/ML", "ai"} {
		want, _ := catalog.LookupCategory(q)
		p := c.Search(catalog.Query{Q: q, Limit: 5})
		for _, d := range p.Items[1:] { // the first may be an exact id ("ai")
			if !contains(d.Categories, want.ID) {
				t.Errorf("q=%s: %s (%v) ranked above the category", q, d.ID, d.Categories)
			}
		}
	}
	if p := c.Search(catalog.Query{Q: "E-commerce", Limit: 500}); !contains(ids(p.Items), "stripe") {
		t.Errorf("q=E-commerce misses stripe")
	}
}

func TestSearchNoMatch(t *testing.T) {
	c := load(t)
	if p := c.Search(catalog.Query{Q: "zzqxv"}); p.Total != 0 || len(p.Items) != 0 {
		t.Errorf("q=zzqxv: %d results %v", p.Total, ids(p.Items))
	}
	if p := c.Search(catalog.Query{Category: "no-such-category"}); p.Total != 0 {
		t.Errorf("unknown category: %d results", p.Total)
	}
}

func TestSearchFilters(t *testing.T) {
	c := load(t)
	p := c.Search(catalog.Query{Implementation: catalog.ImplNative, Limit: 100})
	if p.Total != 34 {
		t.Errorf("native filter: %d results, want 34", p.Total)
	}
	p = c.Search(catalog.Query{Auth: catalog.AuthOAuth1, Limit: 100})
	if p.Total == 0 {
		t.Fatal("oauth1 filter: no results")
	}
	for _, d := range p.Items {
		found := d.Auth.Kind == catalog.AuthOAuth1
		for _, a := range d.AuthAlternatives {
			found = found || a.Kind == catalog.AuthOAuth1
		}
		if !found {
			t.Errorf("oauth1 filter returned %s", d.ID)
		}
	}
	p = c.Search(catalog.Query{Q: "stripe", Category: "crm"})
	if contains(ids(p.Items), "stripe") {
		t.Error("category filter ignored")
	}
}

func TestSearchPagination(t *testing.T) {
	c := load(t)
	q := catalog.Query{Category: "crm", Limit: 7}
	seen := map[string]bool{}
	total := -1
	pages := 0
	for {
		p, err := c.Find(q)
		if err != nil {
			t.Fatal(err)
		}
		if total == -1 {
			total = p.Total
		}
		for _, d := range p.Items {
			if seen[d.ID] {
				t.Fatalf("%s returned twice", d.ID)
			}
			seen[d.ID] = true
		}
		pages++
		if p.NextCursor == "" {
			break
		}
		q.Cursor = p.NextCursor
	}
	if len(seen) != total || pages != (total+6)/7 {
		t.Errorf("paged %d of %d entries in %d pages", len(seen), total, pages)
	}
	// A cursor from one query is refused by another.
	first, _ := c.Find(catalog.Query{Category: "crm", Limit: 7})
	if _, err := c.Find(catalog.Query{Category: "ai", Limit: 7, Cursor: first.NextCursor}); !errors.Is(err, catalog.ErrBadCursor) {
		t.Errorf("foreign cursor: err = %v, want ErrBadCursor", err)
	}
	if _, err := c.Find(catalog.Query{Cursor: "not-a-cursor"}); !errors.Is(err, catalog.ErrBadCursor) {
		t.Errorf("garbage cursor: err = %v, want ErrBadCursor", err)
	}
	if p := c.Search(catalog.Query{Limit: 100000}); len(p.Items) != catalog.MaxLimit {
		t.Errorf("limit not capped: %d items", len(p.Items))
	}
	if p := c.Search(catalog.Query{}); len(p.Items) != catalog.DefaultLimit || p.Total != c.Len() {
		t.Errorf("default page: %d items of %d", len(p.Items), p.Total)
	}
}

// benchQueries mixes exact, prefix, typo, multi-word, category, action
// and empty queries.
var benchQueries = []catalog.Query{
	{Q: "slack"}, {Q: "sal"}, {Q: "slak"}, {Q: "salesfroce"}, {Q: "google drive"},
	{Q: "crm"}, {Q: "send message"}, {Q: "create_customer"}, {Q: "micro"},
	{Category: "commerce"}, {Q: "invoice", Category: "accounting"}, {}, {Q: "zzqxv"},
	{Q: "hubspot", Implementation: "native"}, {Q: "api"}, {Q: "github"},
}

// BenchmarkSearch reports the p50 and p99 latency of one search over the
// full catalog across a mix of queries.
func BenchmarkSearch(b *testing.B) {
	c := load(b)
	lat := make([]time.Duration, 0, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		q := benchQueries[i%len(benchQueries)]
		start := time.Now()
		c.Search(q)
		lat = append(lat, time.Since(start))
	}
	b.StopTimer()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	pct := func(p float64) float64 {
		return float64(lat[int(float64(len(lat)-1)*p)].Microseconds())
	}
	b.ReportMetric(pct(0.50), "p50-µs")
	b.ReportMetric(pct(0.99), "p99-µs")
}

func BenchmarkLoad(b *testing.B) {
	for i := 0; i < b.N; i++ {
		if _, err := catalog.Load(catalog.Options{}); err != nil {
			b.Fatal(err)
		}
	}
}

func TestEditDistanceViaSearch(t *testing.T) {
	c := load(t)
	// Insertion, deletion, substitution and transposition each find the
	// entry; three edits do not.
	for q, want := range map[string]string{"slackk": "slack", "notio": "notion", "zoon": "zoom", "ntoion": "notion"} {
		p := c.Search(catalog.Query{Q: q, Limit: 3})
		if len(p.Items) == 0 || !contains(ids(p.Items), want) {
			t.Errorf("q=%q: top %v, want %s among them", q, ids(p.Items), want)
		}
	}
	if p := c.Search(catalog.Query{Q: "xqzwvk"}); p.Total != 0 {
		t.Errorf("q=xqzwvk matched %v", ids(p.Items))
	}
}
