package provider

// ListOutput returns the output {key: items} of an action that lists
// things, with a nil items (a list the API left out or answered as null)
// as an empty list, so the output always holds a JSON array. Callers add
// their pagination fields (a next cursor, a total) to the map.
func ListOutput[T any](key string, items []T) map[string]any {
	if items == nil {
		items = []T{}
	}
	return map[string]any{key: items}
}
