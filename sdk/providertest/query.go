package providertest

import (
	"net/url"
	"strconv"
)

// QueryInt reads the integer query parameter key of a request a fake API
// received (a page size, a page number, an offset), or def when the
// request does not give it. A value that is not a number reads as 0, so a
// fake answers a malformed parameter the way it answers a zero one.
func QueryInt(q url.Values, key string, def int) int {
	s := q.Get(key)
	if s == "" {
		return def
	}
	n, _ := strconv.Atoi(s)
	return n
}
