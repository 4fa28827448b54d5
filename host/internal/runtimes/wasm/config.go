package wasm

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"path/filepath"
	"time"

	"github.com/atomhq/atom/host/internal/outbound"
	hostrt "github.com/atomhq/atom/host/internal/runtimes"
	"github.com/atomhq/atom/sdk/piece"
)

// Outbound sends the HTTP requests pieces make. The host supplies one that
// applies its SSRF guard, Retry-After handling and rate limits.
// Implementations must not follow redirects: a piece follows them itself,
// so that every hop passes the allow-list.
type Outbound interface {
	Do(ctx context.Context, req *http.Request) (*http.Response, error)
}

// Config configures a Runtime. The zero value of every field selects the
// default documented on it.
type Config struct {
	// BaseURL resolves the API base URL of a call whose request names
	// none (generic.BaseURLs); the guest's requests may reach its host.
	BaseURL hostrt.BaseURLFunc
	// DataDir is the host's data directory; the compilation cache lives in
	// DataDir/wasm-cache unless CacheDir is set.
	DataDir string
	// CacheDir overrides the compilation cache directory. With neither
	// DataDir nor CacheDir, compiled code is cached in memory only.
	CacheDir string
	// MaxMemoryPages caps a guest's linear memory in 64 KiB pages; a
	// manifest may ask for less or more, within this cap. Default 2048
	// (128 MiB).
	MaxMemoryPages uint32
	// DefaultMemoryPages is the cap for pieces whose manifest asks for
	// none. Default MaxMemoryPages.
	DefaultMemoryPages uint32
	// CallTimeout is the deadline of one call when the manifest asks for
	// none. Default 30s.
	CallTimeout time.Duration
	// MaxCallTimeout bounds the deadline a manifest may ask for. Default
	// CallTimeout.
	MaxCallTimeout time.Duration
	// LoadTimeout bounds what a load runs inside the guest: module init
	// (_initialize) and atom_manifest. A module that does not answer in
	// time is refused. Default 10s.
	LoadTimeout time.Duration
	// PoolSize bounds the instances of one piece, and so its concurrent
	// calls. Default 8.
	PoolSize int
	// TenantPoolSize bounds the calls of one tenant running at once on one
	// piece, so that a tenant whose calls are slow holds at most this many
	// of the PoolSize instances and never makes another tenant wait for
	// all of them. Default PoolSize/2 (at least 1).
	TenantPoolSize int
	// RecyclePages: an instance whose memory grew past this many pages is
	// closed after its call instead of returning to the pool, so the
	// memory is released. Default half the piece's memory cap, at most
	// 512 pages (32 MiB).
	RecyclePages uint32
	// MaxManifestBytes bounds the manifest a module returns. Default 1 MiB.
	MaxManifestBytes int
	// MaxOutputBytes bounds the result of one call: a larger one fails the
	// call with ErrOutputLimit and the instance is discarded. Default 8 MiB.
	MaxOutputBytes int
	// MaxLogBytesPerCall bounds what one call may log (besides the limit of
	// 100 lines); the rest is dropped and counted. Default 64 KiB.
	MaxLogBytesPerCall int
	// ShareAcrossTenants lets an idle instance serve another tenant than
	// the one it served last. Off by default: globals persist inside an
	// instance, so reuse across tenants is only safe for trusted pieces.
	ShareAcrossTenants bool
	// Outbound sends pieces' HTTP requests; the host passes its one
	// outbound.Client, whose guard refuses non-public addresses after DNS
	// resolution. Default: an outbound.Client with default settings.
	Outbound Outbound
	// Rewrite maps a host name a piece calls to another scheme://host[:port]
	// after the allow-list check. A key "host" applies to every piece, a
	// key "<piece id>/host" to that piece only (and wins over "host"). It
	// exists for tests and local fakes; production configurations leave it
	// empty.
	Rewrite map[string]string
	// SharedPrivateHosts lists the hosts ("name" or "name:port") the
	// Outbound lets reach private or loopback addresses for everyone
	// (ATOM_ALLOW_PRIVATE_HOSTS). A piece may not reach them unless the
	// host is granted to it: by PrivateHosts, by a Rewrite rule that
	// applies to it, or as the host of its execution's base URL.
	SharedPrivateHosts []string
	// PrivateHosts grants private hosts to single pieces: piece id → hosts
	// ("name" or "name:port"), from ATOM_ALLOW_PRIVATE_HOSTS entries
	// written "<piece id>=<host>".
	PrivateHosts map[string][]string
	// Claim, when set, is asked whether a piece may serve the id its
	// manifest declares before the piece is loaded; an error refuses it
	// (the host uses it to refuse ids held by native plugins).
	Claim func(id string) error
	// MaxRequestBytes and MaxResponseBytes bound HTTP bodies. Default 10 MiB.
	MaxRequestBytes  int64
	MaxResponseBytes int64
	// MaxHTTPPerCall bounds the HTTP requests of one call. Default 50.
	MaxHTTPPerCall int
	// MaxStoreValueBytes bounds one store value. Default 1 MiB.
	MaxStoreValueBytes int
	// Verify, when set, is called with the path and SHA-256 of a module's
	// bytes before it is compiled; an error refuses the module.
	Verify func(path string, sum [32]byte) error
	// Logger receives runtime events and guest logs without an execution
	// host. Default slog.Default().
	Logger *slog.Logger
}

func (c Config) withDefaults() (Config, error) {
	if c.MaxMemoryPages == 0 {
		c.MaxMemoryPages = 2048
	}
	if c.MaxMemoryPages > 65536 {
		return c, fmt.Errorf("max memory pages %d exceeds 65536", c.MaxMemoryPages)
	}
	if c.DefaultMemoryPages == 0 || c.DefaultMemoryPages > c.MaxMemoryPages {
		c.DefaultMemoryPages = c.MaxMemoryPages
	}
	if c.CallTimeout <= 0 {
		c.CallTimeout = 30 * time.Second
	}
	if c.MaxCallTimeout < c.CallTimeout {
		c.MaxCallTimeout = c.CallTimeout
	}
	if c.PoolSize <= 0 {
		c.PoolSize = 8
	}
	if c.TenantPoolSize <= 0 {
		c.TenantPoolSize = max(1, c.PoolSize/2)
	}
	c.TenantPoolSize = min(c.TenantPoolSize, c.PoolSize)
	if c.LoadTimeout <= 0 {
		c.LoadTimeout = 10 * time.Second
	}
	if c.MaxManifestBytes <= 0 {
		c.MaxManifestBytes = 1 << 20
	}
	if c.MaxOutputBytes <= 0 {
		c.MaxOutputBytes = 8 << 20
	}
	if c.MaxLogBytesPerCall <= 0 {
		c.MaxLogBytesPerCall = 64 << 10
	}
	if c.Outbound == nil {
		c.Outbound = outbound.New(outbound.Config{})
	}
	if c.MaxRequestBytes <= 0 {
		c.MaxRequestBytes = 10 << 20
	}
	if c.MaxResponseBytes <= 0 {
		c.MaxResponseBytes = 10 << 20
	}
	if c.MaxHTTPPerCall <= 0 {
		c.MaxHTTPPerCall = 50
	}
	if c.MaxStoreValueBytes <= 0 {
		c.MaxStoreValueBytes = 1 << 20
	}
	if c.CacheDir == "" && c.DataDir != "" {
		c.CacheDir = filepath.Join(c.DataDir, "wasm-cache")
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c, nil
}

// limits returns the memory cap and deadline of a piece whose manifest
// asks for l, bounded by the configuration.
func (c Config) limits(l piece.Limits) (uint32, time.Duration) {
	pages := c.DefaultMemoryPages
	if l.MemoryPages > 0 {
		pages = min(l.MemoryPages, c.MaxMemoryPages)
	}
	timeout := c.CallTimeout
	if l.TimeoutMS > 0 {
		timeout = min(time.Duration(l.TimeoutMS)*time.Millisecond, c.MaxCallTimeout)
	}
	return pages, timeout
}
