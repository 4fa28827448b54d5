package catalog

import (
	"encoding/base64"
	"errors"
	"fmt"
	"hash/fnv"
	"sort"
	"strconv"
	"strings"
)

// Search limits.
const (
	DefaultLimit = 50
	MaxLimit     = 500
)

// ErrBadCursor is returned by Find for a cursor that was not produced by
// the same query.
var ErrBadCursor = errors.New("invalid cursor")

// Query selects and ranks catalog entries. All fields are optional.
type Query struct {
	// Q is free text matched against id, name, categories and action
	// names, tolerating small typos.
	Q string
	// Category filters by category id or display name ("crm",
	// "E-commerce", "AI/ML").
	Category string
	// Auth filters by auth kind offered (primary or alternative).
	Auth string
	// Implementation filters by "native", "piece" or "generic".
	Implementation string
	// Limit is the page size: default 50, at most 500.
	Limit int
	// Cursor continues from a previous Page.NextCursor.
	Cursor string
}

// Page is one page of search results.
type Page struct {
	Items []*Descriptor `json:"items"`
	// NextCursor is empty on the last page.
	NextCursor string `json:"next_cursor,omitempty"`
	// Total is the number of entries matching the query.
	Total int `json:"total"`
}

// Search runs q and returns one page. An invalid cursor restarts from the
// first page; use Find to reject it instead.
func (c *Catalog) Search(q Query) Page {
	p, err := c.Find(q)
	if err != nil {
		q.Cursor = ""
		p, _ = c.Find(q)
	}
	return p
}

// Find runs q and returns one page, or ErrBadCursor when q.Cursor was not
// issued for the same query. Without Q, entries come in name order;
// with Q, best match first: exact id or name, then id/name prefix, whole
// words of the name, name substrings, categories, action names, and last
// near matches (edit distance 1 for words up to 5 letters, 2 beyond).
func (c *Catalog) Find(q Query) (Page, error) {
	limit := q.Limit
	if limit <= 0 {
		limit = DefaultLimit
	}
	if limit > MaxLimit {
		limit = MaxLimit
	}
	offset := 0
	fp := fingerprint(q)
	if q.Cursor != "" {
		var err error
		if offset, err = decodeCursor(q.Cursor, fp); err != nil {
			return Page{}, err
		}
	}
	hits := c.idx.run(q)
	p := Page{Total: len(hits), Items: []*Descriptor{}}
	if offset > len(hits) {
		offset = len(hits)
	}
	end := offset + limit
	if end > len(hits) {
		end = len(hits)
	}
	for _, h := range hits[offset:end] {
		p.Items = append(p.Items, c.entries[h.doc])
	}
	if end < len(hits) {
		p.NextCursor = encodeCursor(end, fp)
	}
	return p, nil
}

func fingerprint(q Query) uint32 {
	h := fnv.New32a()
	for _, s := range []string{q.Q, q.Category, q.Auth, q.Implementation} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	return h.Sum32()
}

func encodeCursor(offset int, fp uint32) string {
	return base64.RawURLEncoding.EncodeToString([]byte(fmt.Sprintf("v1:%d:%08x", offset, fp)))
}

func decodeCursor(s string, fp uint32) (int, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return 0, ErrBadCursor
	}
	parts := strings.Split(string(b), ":")
	if len(parts) != 3 || parts[0] != "v1" || parts[2] != fmt.Sprintf("%08x", fp) {
		return 0, ErrBadCursor
	}
	n, err := strconv.Atoi(parts[1])
	if err != nil || n < 0 {
		return 0, ErrBadCursor
	}
	return n, nil
}

// Match tiers, best first.
const (
	tierExact    = 100
	tierPrefix   = 90
	tierWord     = 80
	tierSubstr   = 70
	tierCategory = 60
	tierAction   = 50
	tierActionIn = 45
	tierFuzzy    = 30
)

// doc is the precomputed search form of one entry.
type doc struct {
	id, name         string // normalised
	idC, nameC       string // normalised without spaces
	words            []string
	cats             []string // category ids
	actions          string   // "|a|b|" of normalised action names
	authKinds        []string
	impls            []string
	popular, native  bool
	nameLen          int
	sortName, sortID string
}

// index is the immutable search index of a snapshot.
type index struct {
	docs   []doc
	byName []int // doc ids in name order
	// vocab maps each distinct name/id word to the docs holding it; it
	// is scanned once per query for near matches.
	vocab     []string
	vocabDocs [][]int
}

func newIndex(entries []*Descriptor) *index {
	ix := &index{docs: make([]doc, len(entries))}
	vocab := map[string][]int{}
	for i, d := range entries {
		x := doc{
			id:       normalize(d.ID),
			name:     normalize(d.Name),
			cats:     d.Categories,
			impls:    d.Implementations,
			popular:  d.Popular,
			native:   hasString(d.Implementations, ImplNative),
			nameLen:  len(d.Name),
			sortName: strings.ToLower(d.Name),
			sortID:   d.ID,
		}
		x.idC = strings.ReplaceAll(x.id, " ", "")
		x.nameC = strings.ReplaceAll(x.name, " ", "")
		seen := map[string]bool{}
		for _, w := range append(strings.Fields(x.name), strings.Fields(x.id)...) {
			if !seen[w] {
				seen[w] = true
				x.words = append(x.words, w)
			}
		}
		for _, w := range []string{x.nameC, x.idC} {
			if !seen[w] {
				seen[w] = true
				vocab[w] = append(vocab[w], i)
			}
		}
		for _, w := range x.words {
			vocab[w] = append(vocab[w], i)
		}
		var ab strings.Builder
		ab.WriteByte('|')
		for _, a := range d.Actions {
			ab.WriteString(normalize(a))
			ab.WriteByte('|')
		}
		x.actions = ab.String()
		x.authKinds = []string{d.Auth.Kind}
		for _, a := range d.AuthAlternatives {
			if !hasString(x.authKinds, a.Kind) {
				x.authKinds = append(x.authKinds, a.Kind)
			}
		}
		ix.docs[i] = x
	}
	ix.byName = make([]int, len(entries))
	for i := range ix.byName {
		ix.byName[i] = i
	}
	sort.Slice(ix.byName, func(a, b int) bool {
		da, db := &ix.docs[ix.byName[a]], &ix.docs[ix.byName[b]]
		if da.sortName != db.sortName {
			return da.sortName < db.sortName
		}
		return da.sortID < db.sortID
	})
	for w := range vocab {
		ix.vocab = append(ix.vocab, w)
	}
	sort.Strings(ix.vocab)
	ix.vocabDocs = make([][]int, len(ix.vocab))
	for i, w := range ix.vocab {
		ix.vocabDocs[i] = vocab[w]
	}
	return ix
}

type hit struct {
	doc   int
	score int
}

// run returns the matching docs, ranked.
func (ix *index) run(q Query) []hit {
	var cat string
	if q.Category != "" {
		c, ok := LookupCategory(q.Category)
		if !ok {
			return nil
		}
		cat = c.ID
	}
	keep := func(d *doc) bool {
		return (cat == "" || hasString(d.cats, cat)) &&
			(q.Auth == "" || hasString(d.authKinds, q.Auth)) &&
			(q.Implementation == "" || hasString(d.impls, q.Implementation))
	}
	qn := normalize(q.Q)
	if qn == "" {
		hits := make([]hit, 0, len(ix.docs))
		for _, i := range ix.byName {
			if keep(&ix.docs[i]) {
				hits = append(hits, hit{doc: i})
			}
		}
		return hits
	}
	terms := strings.Fields(qn)
	scores := make([]int, len(ix.docs))
	ix.score(qn, scores)
	if len(terms) > 1 {
		// Every word must match somewhere; the weakest word decides.
		per := make([]int, len(ix.docs))
		all := make([]int, len(ix.docs))
		for i := range all {
			all[i] = tierExact
		}
		for _, t := range terms {
			clear(per)
			ix.score(t, per)
			for i, s := range per {
				all[i] = min(all[i], s)
			}
		}
		for i, s := range all {
			if s > 0 && s-5 > scores[i] {
				scores[i] = s - 5
			}
		}
	}
	var hits []hit
	for i, s := range scores {
		if s > 0 && keep(&ix.docs[i]) {
			hits = append(hits, hit{doc: i, score: s})
		}
	}
	sort.Slice(hits, func(a, b int) bool {
		ha, hb := hits[a], hits[b]
		if ha.score != hb.score {
			return ha.score > hb.score
		}
		da, db := &ix.docs[ha.doc], &ix.docs[hb.doc]
		if da.popular != db.popular {
			return da.popular
		}
		if da.native != db.native {
			return da.native
		}
		if da.nameLen != db.nameLen {
			return da.nameLen < db.nameLen
		}
		return da.sortID < db.sortID
	})
	return hits
}

// score raises scores[i] to the best tier at which doc i matches term.
func (ix *index) score(term string, scores []int) {
	tc := strings.ReplaceAll(term, " ", "")
	wordInName := " " + term + " "
	var catIDs []string
	if c, ok := LookupCategory(term); ok {
		catIDs = append(catIDs, c.ID)
	}
	actionExact := "|" + term + "|"
	for i := range ix.docs {
		d := &ix.docs[i]
		s := 0
		switch {
		case d.id == term || d.name == term || d.idC == tc || d.nameC == tc:
			s = tierExact
		case strings.HasPrefix(d.id, term) || strings.HasPrefix(d.name, term) ||
			strings.HasPrefix(d.idC, tc) || strings.HasPrefix(d.nameC, tc):
			s = tierPrefix
		case strings.Contains(" "+d.name+" ", wordInName) || strings.Contains(" "+d.id+" ", wordInName):
			s = tierWord
		case strings.Contains(d.nameC, tc) || strings.Contains(d.idC, tc):
			s = tierSubstr
		}
		if s < tierCategory {
			for _, c := range catIDs {
				if hasString(d.cats, c) {
					s = tierCategory
				}
			}
		}
		if s < tierAction && len(term) >= 3 {
			if strings.Contains(d.actions, actionExact) {
				s = tierAction
			} else if strings.Contains(d.actions, term) {
				s = tierActionIn
			}
		}
		if s > scores[i] {
			scores[i] = s
		}
	}
	ix.fuzzy(tc, scores)
}

// fuzzy gives near matches of term among name/id words a low score.
func (ix *index) fuzzy(term string, scores []int) {
	n := len(term)
	if n < 3 {
		return
	}
	maxDist := 1
	if n > 5 {
		maxDist = 2
	}
	for vi, w := range ix.vocab {
		if abs(len(w)-n) > maxDist {
			continue
		}
		dist := editDistance(term, w, maxDist)
		if dist > maxDist {
			continue
		}
		s := tierFuzzy - 5*dist
		for _, i := range ix.vocabDocs[vi] {
			if s > scores[i] {
				scores[i] = s
			}
		}
	}
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// editDistance returns the optimal-string-alignment distance between a
// and b (adjacent transpositions count as one edit), or max+1 as soon as
// it must exceed max.
func editDistance(a, b string, max int) int {
	la, lb := len(a), len(b)
	if la > 32 || lb > 32 {
		if a == b {
			return 0
		}
		return max + 1
	}
	var prev2, prev, cur [33]int
	for j := 0; j <= lb; j++ {
		prev[j] = j
	}
	for i := 1; i <= la; i++ {
		cur[0] = i
		rowMin := cur[0]
		for j := 1; j <= lb; j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			v := min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				v = min(v, prev2[j-2]+1)
			}
			cur[j] = v
			rowMin = min(rowMin, v)
		}
		if rowMin > max {
			return max + 1
		}
		prev2, prev = prev, cur
	}
	return prev[lb]
}

// normalize lowercases s and turns every run of characters other than
// letters and digits into one space.
func normalize(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	space := false
	for _, r := range strings.ToLower(s) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r > 127 {
			if space && b.Len() > 0 {
				b.WriteByte(' ')
			}
			space = false
			b.WriteRune(r)
		} else {
			space = true
		}
	}
	return b.String()
}
