package catalog_test

import (
	"fmt"
	"sync"
	"testing"

	"github.com/atomhq/atom/catalog"
)

func ExampleCatalog_Search() {
	c, err := catalog.Load(catalog.Options{})
	if err != nil {
		panic(err)
	}
	p := c.Search(catalog.Query{Q: "slak", Limit: 1})
	fmt.Println(p.Items[0].ID, p.Items[0].Implementations)
	// Output: slack [native generic]
}

func ExampleExpandURL() {
	c, _ := catalog.Load(catalog.Options{})
	shopify, _ := c.Get("shopify")
	u, err := catalog.ExpandURL(shopify.Auth.AuthorizationURL, map[string]map[string]string{
		"connection": {"shop": "acme"},
	})
	fmt.Println(u, err)
	// Output: https://acme.myshopify.com/admin/oauth/authorize <nil>
}

func TestConcurrentUse(t *testing.T) {
	c := load(t)
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 50; i++ {
				q := benchQueries[(g+i)%len(benchQueries)]
				c.Search(q)
				c.Get("slack")
				c.Categories()
			}
		}()
	}
	wg.Wait()
}
