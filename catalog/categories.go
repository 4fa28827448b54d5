package catalog

// Category is one normalised category of the catalog.
type Category struct {
	ID          string `json:"id"`
	DisplayName string `json:"display_name"`
}

// Categories lists every category in display order. The spec's nine
// categories map to communication, productivity, crm, commerce
// ("E-commerce"), storage, development, marketing, accounting and ai
// ("AI/ML").
var categories = []Category{
	{"communication", "Communication"},
	{"productivity", "Productivity"},
	{"crm", "CRM"},
	{"commerce", "E-commerce"},
	{"payments", "Payments"},
	{"storage", "Storage"},
	{"development", "Development"},
	{"marketing", "Marketing"},
	{"accounting", "Accounting"},
	{"ai", "AI/ML"},
	{"analytics", "Analytics"},
	{"support", "Support"},
	{"hr", "HR"},
	{"forms", "Forms"},
	{"security", "Security"},
	{"other", "Other"},
}

var categoryIndex = func() map[string]int {
	m := make(map[string]int, len(categories))
	for i, c := range categories {
		m[c.ID] = i
	}
	return m
}()

// AllCategories returns every known category in display order.
func AllCategories() []Category {
	return append([]Category(nil), categories...)
}

// LookupCategory resolves a category id or display name (any case, e.g.
// "crm", "E-commerce", "ai/ml") to its category.
func LookupCategory(s string) (Category, bool) {
	k := normalize(s)
	for _, c := range categories {
		if k == c.ID || k == normalize(c.DisplayName) {
			return c, true
		}
	}
	switch k {
	case "ecommerce", "e commerce":
		return categories[categoryIndex["commerce"]], true
	case "ai ml", "aiml", "ml":
		return categories[categoryIndex["ai"]], true
	}
	return Category{}, false
}

// CategoryCount is a category with the number of entries in it.
type CategoryCount struct {
	ID          string `json:"id"`
	DisplayName string `json:"display_name"`
	Count       int    `json:"count"`
}
