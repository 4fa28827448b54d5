package catalog

import (
	"encoding/base64"
	"errors"
	"fmt"
	"hash/fnv"
	"math/bits"
	"slices"
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
// with Q, best match first: exact id or name, then entries of the
// category the query names, id/name prefix, whole words of the name, name
// substrings, action names (whole name, then a word or word prefix of
// one), and last, for words that matched no name,
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
	tierCategory = 95 // the query names a category ("crm", "E-commerce")
	tierPrefix   = 90
	tierWord     = 80
	tierSubstr   = 70
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
	authKinds        []string
	impls            []string
	popular, native  bool
	connectable      bool
	nameLen          int
	sortName, sortID string
	rank             int // position in tie-break order
}

// index is the immutable search index of a snapshot.
type index struct {
	docs   []doc
	byName []int // doc ids in name order
	byRank []int // doc ids in tie-break order
	// vocab maps each distinct name/id word to the docs holding it; the
	// words of one length are scanned for near matches of a query word.
	vocabByLen [][]vocabWord
	exact      map[string][]int // id, name and their compact forms
	prefix     []keyDoc         // the same keys, sorted, for prefix ranges
	catDocs    map[string][]int
	actionIs   map[string][]int // normalised action name -> docs
	wordDocs   map[string][]int // name/id word -> docs
	compact    blob             // compact name and id of every doc
	// actionTok holds (word of an action name, doc) pairs sorted by
	// word, for word and word-prefix matches on actions.
	actionTok []keyDoc
}

type keyDoc struct {
	key string
	doc int
}

// blob concatenates many short strings so that one strings.Index scan
// finds a term in all of them; starts[i] is where string i begins and
// docs[i] the doc it belongs to.
//
// Strings must be added grouped by doc; next[i] is where the next doc's
// strings begin, so a scan reports each doc at most once.
type blob struct {
	b      strings.Builder
	s      string
	starts []int
	docs   []int
	next   []int
}

func (bl *blob) add(doc int, s string) {
	bl.starts = append(bl.starts, bl.b.Len())
	bl.docs = append(bl.docs, doc)
	bl.b.WriteString(s)
	bl.b.WriteByte(0)
}

func (bl *blob) seal() {
	bl.s = bl.b.String()
	bl.b = strings.Builder{}
	bl.next = make([]int, len(bl.starts))
	end := len(bl.s)
	for i := len(bl.starts) - 1; i >= 0; i-- {
		if i+1 < len(bl.starts) && bl.docs[i+1] != bl.docs[i] {
			end = bl.starts[i+1]
		}
		bl.next[i] = end
	}
}

// each calls fn once for every doc with a string containing term.
func (bl *blob) each(term string, fn func(doc int)) {
	off := 0
	for off < len(bl.s) {
		j := strings.Index(bl.s[off:], term)
		if j < 0 {
			return
		}
		k := sort.SearchInts(bl.starts, off+j+1) - 1
		fn(bl.docs[k])
		off = bl.next[k]
	}
}

type vocabWord struct {
	word string
	mask uint64 // letterMask(word)
	docs []int
}

// letterMask has one bit per letter or digit present in s. One edit
// changes at most two bits, so words whose masks differ in more than
// 2*k bits are more than k edits apart.
func letterMask(s string) uint64 {
	var m uint64
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z':
			m |= 1 << (c - 'a')
		case c >= '0' && c <= '9':
			m |= 1 << (26 + c - '0')
		default:
			m |= 1 << 36
		}
	}
	return m
}

func newIndex(entries []*Descriptor) *index {
	ix := &index{docs: make([]doc, len(entries)), exact: map[string][]int{}, catDocs: map[string][]int{}, actionIs: map[string][]int{}, wordDocs: map[string][]int{}}
	vocab := map[string][]int{}
	for i, d := range entries {
		x := doc{
			id:          normalize(d.ID),
			name:        normalize(d.Name),
			cats:        d.Categories,
			impls:       d.Implementations,
			popular:     d.Popular,
			native:      hasString(d.Implementations, ImplNative),
			connectable: d.Connectable,
			nameLen:     len(d.Name),
			sortName:    strings.ToLower(d.Name),
			sortID:      d.ID,
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
		toks := map[string]bool{}
		for _, a := range d.Actions {
			n := normalize(a)
			if docs := ix.actionIs[n]; len(docs) == 0 || docs[len(docs)-1] != i {
				ix.actionIs[n] = append(docs, i)
			}
			for _, w := range strings.Fields(n) {
				if !toks[w] {
					toks[w] = true
					ix.actionTok = append(ix.actionTok, keyDoc{w, i})
				}
			}
		}
		for _, w := range x.words {
			ix.wordDocs[w] = append(ix.wordDocs[w], i)
		}
		for _, k := range uniq(x.id, x.name, x.idC, x.nameC) {
			ix.exact[k] = append(ix.exact[k], i)
			ix.prefix = append(ix.prefix, keyDoc{k, i})
		}
		for _, c := range d.Categories {
			ix.catDocs[c] = append(ix.catDocs[c], i)
		}
		ix.compact.add(i, x.nameC)
		ix.compact.add(i, x.idC)
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
	ix.byRank = make([]int, len(entries))
	for i := range ix.byRank {
		ix.byRank[i] = i
	}
	sort.Slice(ix.byRank, func(a, b int) bool {
		da, db := &ix.docs[ix.byRank[a]], &ix.docs[ix.byRank[b]]
		if da.native != db.native {
			return da.native
		}
		if da.connectable != db.connectable {
			return da.connectable
		}
		if da.popular != db.popular {
			return da.popular
		}
		if da.nameLen != db.nameLen {
			return da.nameLen < db.nameLen
		}
		return da.sortID < db.sortID
	})
	for r, i := range ix.byRank {
		ix.docs[i].rank = r
	}
	ix.compact.seal()
	sort.Slice(ix.actionTok, func(a, b int) bool {
		if ix.actionTok[a].key != ix.actionTok[b].key {
			return ix.actionTok[a].key < ix.actionTok[b].key
		}
		return ix.actionTok[a].doc < ix.actionTok[b].doc
	})
	sort.Slice(ix.prefix, func(a, b int) bool { return ix.prefix[a].key < ix.prefix[b].key })
	words := make([]string, 0, len(vocab))
	for w := range vocab {
		words = append(words, w)
	}
	sort.Strings(words)
	for _, w := range words {
		for len(ix.vocabByLen) <= len(w) {
			ix.vocabByLen = append(ix.vocabByLen, nil)
		}
		ix.vocabByLen[len(w)] = append(ix.vocabByLen[len(w)], vocabWord{word: w, mask: letterMask(w), docs: vocab[w]})
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
	// "monday.com", "loops.so": the domain suffix is not part of names.
	if len(terms) > 1 && domainSuffix[terms[len(terms)-1]] {
		terms = terms[:len(terms)-1]
		qn = strings.Join(terms, " ")
	}
	scores := make([]int, len(ix.docs))
	ix.score(qn, scores)
	if len(terms) == 1 && !anyAtLeast(scores, tierWord) {
		ix.fuzzy(qn, scores)
	}
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
			if !anyAtLeast(per, tierWord) {
				ix.fuzzy(t, per)
			}
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
	// One integer per hit: better score first, then the precomputed
	// tie-break rank (native, connectable, popular, shorter name, id).
	keys := make([]uint64, 0, 64)
	for i, s := range scores {
		if s > 0 && keep(&ix.docs[i]) {
			keys = append(keys, uint64(1000-s)<<32|uint64(ix.docs[i].rank))
		}
	}
	slices.Sort(keys)
	hits := make([]hit, len(keys))
	for i, k := range keys {
		r := int(k & 0xffffffff)
		hits[i] = hit{doc: ix.byRank[r], score: 1000 - int(k>>32)}
	}
	return hits
}

// score raises scores[i] to the best tier at which doc i matches term.
func (ix *index) score(term string, scores []int) {
	raise := func(doc, s int) {
		if s > scores[doc] {
			scores[doc] = s
		}
	}
	tc := strings.ReplaceAll(term, " ", "")
	for _, k := range uniq(term, tc) {
		for _, d := range ix.exact[k] {
			raise(d, tierExact)
		}
		for i := sort.Search(len(ix.prefix), func(i int) bool { return ix.prefix[i].key >= k }); i < len(ix.prefix) && strings.HasPrefix(ix.prefix[i].key, k); i++ {
			raise(ix.prefix[i].doc, tierPrefix)
		}
	}
	if c, ok := LookupCategory(term); ok {
		for _, d := range ix.catDocs[c.ID] {
			raise(d, tierCategory)
		}
	}
	// Whole words of the name or id: candidates from the first word's
	// postings, confirmed for phrases.
	if ws := strings.Fields(term); len(ws) > 0 {
		phrase := " " + term + " "
		for _, d := range ix.wordDocs[ws[0]] {
			x := &ix.docs[d]
			if len(ws) == 1 || strings.Contains(" "+x.name+" ", phrase) || strings.Contains(" "+x.id+" ", phrase) {
				raise(d, tierWord)
			}
		}
	}
	if tc != "" {
		ix.compact.each(tc, func(doc int) { raise(doc, tierSubstr) })
	}
	if len(term) >= 3 {
		for _, d := range ix.actionIs[term] {
			raise(d, tierAction)
		}
		if !strings.Contains(term, " ") {
			for i := sort.Search(len(ix.actionTok), func(i int) bool { return ix.actionTok[i].key >= term }); i < len(ix.actionTok) && strings.HasPrefix(ix.actionTok[i].key, term); i++ {
				raise(ix.actionTok[i].doc, tierActionIn)
			}
		}
	}
}

func uniq(ss ...string) []string {
	out := ss[:0:0]
	for _, s := range ss {
		if s != "" && !hasString(out, s) {
			out = append(out, s)
		}
	}
	return out
}

var domainSuffix = map[string]bool{"com": true, "io": true, "ai": true, "so": true, "app": true, "co": true, "dev": true, "net": true, "org": true}

func anyAtLeast(scores []int, tier int) bool {
	for _, s := range scores {
		if s >= tier {
			return true
		}
	}
	return false
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
	tm := letterMask(term)
	for l := max(1, n-maxDist); l <= n+maxDist && l < len(ix.vocabByLen); l++ {
		for _, vw := range ix.vocabByLen[l] {
			if bits.OnesCount64(tm^vw.mask) > 2*maxDist {
				continue
			}
			dist := editDistance(term, vw.word, maxDist)
			if dist > maxDist {
				continue
			}
			s := tierFuzzy - 5*dist
			for _, i := range vw.docs {
				if s > scores[i] {
					scores[i] = s
				}
			}
		}
	}
}

// editDistance returns the optimal-string-alignment distance between a
// and b (adjacent transpositions count as one edit), or limit+1 as soon
// as it must exceed limit. Only the band of cells within limit of the
// diagonal is computed.
func editDistance(a, b string, limit int) int {
	la, lb := len(a), len(b)
	if la > 32 || lb > 32 || la-lb > limit || lb-la > limit {
		if a == b {
			return 0
		}
		return limit + 1
	}
	const inf = 1 << 20
	var buf [3][33]int
	prev2, prev, cur := &buf[0], &buf[1], &buf[2]
	for j := 0; j <= lb; j++ {
		prev[j] = j
	}
	for i := 1; i <= la; i++ {
		lo, hi := max(1, i-limit), min(lb, i+limit)
		cur[0] = i
		if lo > 1 {
			cur[lo-1] = inf
		}
		rowMin := inf
		if lo == 1 {
			rowMin = i
		}
		for j := lo; j <= hi; j++ {
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
		if hi < lb {
			cur[hi+1] = inf
		}
		if rowMin > limit {
			return limit + 1
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return min(prev[lb], limit+1)
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
