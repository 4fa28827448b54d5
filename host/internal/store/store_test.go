package store_test

import (
	"testing"

	"github.com/atomhq/atom/host/internal/store/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Each(t, storetest.Conformance)
}

func TestContent(t *testing.T) {
	storetest.Each(t, storetest.Content)
}

func TestGroupCommit(t *testing.T) {
	storetest.Each(t, storetest.GroupCommit)
}

func TestEvents(t *testing.T) {
	storetest.Each(t, storetest.Events)
}

func TestEventExpiry(t *testing.T) {
	storetest.Each(t, storetest.EventExpiry)
}

func TestTriggers(t *testing.T) {
	storetest.Each(t, storetest.Triggers)
}

func TestProviderBudget(t *testing.T) {
	storetest.Each(t, storetest.ProviderBudget)
}
