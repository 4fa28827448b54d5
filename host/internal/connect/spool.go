package connect

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/atomhq/atom/host/internal/store"
	"github.com/atomhq/atom/host/internal/vault"
)

// Tokens a provider issued are written in a short transaction of their
// own the moment they arrive (storeIssued). When that write fails — the
// database restarting, locked or refusing writes — they are kept in memory
// and, when Config.SpoolDir is set, in an encrypted file there, and the
// write is retried: by the refresh itself for Config.RefreshWriteWait,
// then in the background until it succeeds. A process that restarts
// replays the files it finds. Providers that rotate refresh tokens
// invalidate the one sent as soon as they answer, so these tokens are the
// only ones left that work.

// pendingTokens is a refresh result not stored yet.
type pendingTokens struct {
	// Conn is the row to write; its Version is that of the row the
	// refresh read.
	Conn store.Connection `json:"conn"`
	// Sent is the hash of the refresh token the refresh sent; Prior the
	// hashes of earlier pending refresh tokens it descends from. The
	// tokens apply to a stored row holding any of them.
	Sent  string   `json:"sent"`
	Prior []string `json:"prior,omitempty"`
}

// errSuperseded says a pending result no longer applies: the connection
// was deleted or holds other credentials (reconnected) since.
var errSuperseded = errors.New("connection changed since the refresh")

// tokenHash identifies a refresh token without keeping it.
func tokenHash(tok string) string {
	sum := sha256.Sum256([]byte("atom/refresh-token\x00" + tok))
	return hex.EncodeToString(sum[:16])
}

// refreshTokenHash is the tokenHash of c's refresh token ("" when c cannot
// be decrypted).
func (s *Service) refreshTokenHash(c *store.Connection) string {
	sec, err := s.open(c)
	if err != nil {
		return ""
	}
	return tokenHash(sec.RefreshToken)
}

// storeIssued writes p in one short transaction. The row may have changed
// since the refresh read it: a commit whose answer was lost (the row
// already holds p), a replica that marked it expired after sending the
// refresh token p's refresh used, a key rotation. p's tokens are applied
// whenever the row still holds the refresh token p's refresh sent (or one
// it descends from); otherwise the connection got other credentials and
// errSuperseded is returned.
func (s *Service) storeIssued(ctx context.Context, p *pendingTokens) (*store.Connection, error) {
	var out *store.Connection
	err := s.cfg.Store.InTenant(ctx, p.Conn.TenantID, func(tx store.Tx) error {
		cur, err := tx.GetConnectionByID(ctx, p.Conn.ID)
		if errors.Is(err, store.ErrNotFound) {
			return errSuperseded
		}
		if err != nil {
			return err
		}
		if bytes.Equal(cur.CredentialsCT, p.Conn.CredentialsCT) {
			out = cur
			return nil
		}
		next := p.Conn
		if cur.Version != p.Conn.Version {
			h := s.refreshTokenHash(cur)
			if h != p.Sent && !slices.Contains(p.Prior, h) {
				return errSuperseded
			}
			next = mergeIssued(cur, &p.Conn)
		}
		next.Metadata = cloneMap(next.Metadata)
		if err := tx.UpdateConnection(ctx, &next); err != nil {
			return err
		}
		out = &next
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.creds.forgetConn(p.Conn.ID)
	return out, nil
}

// mergeIssued returns cur with the token fields of issued.
func mergeIssued(cur, issued *store.Connection) store.Connection {
	next := *cur
	next.CredentialsCT, next.KeyID = issued.CredentialsCT, issued.KeyID
	next.TokenType, next.Scope, next.InstanceURL = issued.TokenType, issued.Scope, issued.InstanceURL
	next.Metadata = issued.Metadata
	next.ExpiresAt, next.NextRefreshAt, next.LastRefreshedAt = issued.ExpiresAt, issued.NextRefreshAt, issued.LastRefreshedAt
	next.Status, next.StatusReason, next.FailureCount = issued.Status, issued.StatusReason, issued.FailureCount
	return next
}

// persistIssued stores p, retrying a failed write until it succeeds or
// Config.RefreshWriteWait (within ctx) has passed; the tokens are then
// usable at once and the background replayer keeps writing them. It
// returns the connection to use.
func (s *Service) persistIssued(ctx context.Context, p *pendingTokens) (*store.Connection, error) {
	stored, err := s.storeIssued(ctx, p)
	if err == nil {
		return stored, nil
	}
	if errors.Is(err, errSuperseded) {
		return s.superseded(ctx, p)
	}
	s.log.WarnContext(ctx, "refreshed tokens not stored; keeping them and retrying", "tenant", p.Conn.TenantID,
		"connection", p.Conn.ID, "err", err)
	s.pend.put(s, p)
	wctx, cancel := context.WithTimeout(ctx, s.cfg.RefreshWriteWait)
	defer cancel()
	backoff := 50 * time.Millisecond
	for {
		t := time.NewTimer(backoff)
		select {
		case <-wctx.Done():
			t.Stop()
			s.log.WarnContext(ctx, "refreshed tokens still not stored; the background replayer keeps trying",
				"tenant", p.Conn.TenantID, "connection", p.Conn.ID)
			cp := p.Conn
			return &cp, nil
		case <-t.C:
		}
		backoff = min(2*backoff, time.Second)
		stored, err := s.storeIssued(wctx, p)
		switch {
		case err == nil:
			s.pend.remove(s, p)
			return stored, nil
		case errors.Is(err, errSuperseded):
			s.pend.remove(s, p)
			return s.superseded(ctx, p)
		}
	}
}

func (s *Service) superseded(ctx context.Context, p *pendingTokens) (*store.Connection, error) {
	s.log.InfoContext(ctx, "refreshed tokens dropped: the connection changed since", "tenant", p.Conn.TenantID, "connection", p.Conn.ID)
	fresh, err := s.readConn(ctx, p.Conn.TenantID, p.Conn.ID)
	if err != nil {
		return nil, err
	}
	return fresh, usable(fresh)
}

// replayPending tries once to store the pending tokens of connID, if any.
func (s *Service) replayPending(ctx context.Context, connID string) {
	p := s.pend.get(connID)
	if p == nil {
		return
	}
	if _, err := s.storeIssued(ctx, p); err == nil || errors.Is(err, errSuperseded) {
		s.pend.remove(s, p)
	}
}

// overlayPending returns the pending tokens of c's connection in place of
// c when they were issued from this very row version (their write has not
// happened yet).
func (s *Service) overlayPending(c *store.Connection) (*store.Connection, *pendingTokens) {
	p := s.pend.get(c.ID)
	if p == nil || p.Conn.Version != c.Version || p.Conn.TenantID != c.TenantID {
		return c, nil
	}
	cp := p.Conn
	return &cp, p
}

// ReplaySpool writes every pending refresh result it can now and returns
// how many are still pending.
func (s *Service) ReplaySpool(ctx context.Context) int {
	for _, p := range s.pend.all() {
		if _, err := s.storeIssued(ctx, p); err == nil || errors.Is(err, errSuperseded) {
			s.pend.remove(s, p)
		}
	}
	return len(s.pend.all())
}

// PendingRefreshes counts refresh results not stored yet.
func (s *Service) PendingRefreshes() int { return len(s.pend.all()) }

// runReplayer retries pending results in the background until none is
// left or the Service is closed.
func (s *Service) runReplayer() {
	s.pend.mu.Lock()
	if s.pend.running || s.closed() {
		s.pend.mu.Unlock()
		return
	}
	s.pend.running = true
	s.pend.mu.Unlock()
	go func() {
		backoff := 100 * time.Millisecond
		for {
			t := time.NewTimer(backoff)
			select {
			case <-s.done:
				t.Stop()
				s.pend.mu.Lock()
				s.pend.running = false
				s.pend.mu.Unlock()
				return
			case <-t.C:
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			s.ReplaySpool(ctx)
			cancel()
			s.pend.mu.Lock()
			if len(s.pend.m) == 0 {
				s.pend.running = false
				s.pend.mu.Unlock()
				s.log.Info("pending refresh results stored")
				return
			}
			s.pend.mu.Unlock()
			backoff = min(2*backoff, 5*time.Second)
		}
	}()
}

// Close stops the background replayer. Results still pending stay in the
// spool directory for the next start.
func (s *Service) Close() {
	s.closeOnce.Do(func() { close(s.done) })
}

func (s *Service) closed() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

// spoolFileExt names spool files.
const spoolFileExt = ".tokens"

// spoolName is the file stem of a connection's pending result; it is also
// the associated data the file is sealed with, so a file renamed to
// another connection's name fails to open.
func spoolName(tenantID, connID string) string {
	sum := sha256.Sum256([]byte(tenantID + "\x00" + connID))
	return hex.EncodeToString(sum[:16])
}

func spoolAD(name string) vault.AD {
	return vault.AD{Table: "refresh_spool", Column: "tokens", RowID: name}
}

// writeSpool seals p with the vault key and writes it durably (temporary
// file, fsync, rename, fsync of the directory).
func (s *Service) writeSpool(p *pendingTokens) error {
	dir := s.cfg.SpoolDir
	name := spoolName(p.Conn.TenantID, p.Conn.ID)
	pt, err := json.Marshal(p)
	if err != nil {
		return err
	}
	ct, _, err := s.cfg.Keyring.Seal(pt, spoolAD(name))
	if err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, name+".*.tmp")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(ct)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, filepath.Join(dir, name+spoolFileExt))
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	return syncDir(dir)
}

func (s *Service) removeSpool(p *pendingTokens) {
	path := filepath.Join(s.cfg.SpoolDir, spoolName(p.Conn.TenantID, p.Conn.ID)+spoolFileExt)
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		s.log.Warn("remove refresh spool file", "err", err)
		return
	}
	syncDir(s.cfg.SpoolDir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// loadSpool reads the spool directory into memory. A file that does not
// open (another key ring, damaged) is logged and left in place.
func (s *Service) loadSpool() error {
	dir := s.cfg.SpoolDir
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		name, ok := strings.CutSuffix(e.Name(), spoolFileExt)
		if !ok || e.IsDir() {
			continue
		}
		p, err := s.readSpoolFile(filepath.Join(dir, e.Name()), name)
		if err != nil {
			s.log.Error("refresh spool file unreadable; left in place", "file", e.Name(), "err", err)
			continue
		}
		s.pend.mu.Lock()
		if old := s.pend.m[p.Conn.ID]; old == nil {
			s.pend.m[p.Conn.ID] = p
		}
		s.pend.mu.Unlock()
	}
	if n := len(s.pend.all()); n > 0 {
		s.log.Info("refresh results found in the spool; storing them", "count", n)
	}
	return nil
}

func (s *Service) readSpoolFile(path, name string) (*pendingTokens, error) {
	ct, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	pt, err := s.cfg.Keyring.Open(ct, spoolAD(name))
	if err != nil {
		return nil, err
	}
	var p pendingTokens
	if err := json.Unmarshal(pt, &p); err != nil {
		return nil, fmt.Errorf("decode: %w", err)
	}
	if p.Conn.ID == "" || spoolName(p.Conn.TenantID, p.Conn.ID) != name {
		return nil, errors.New("entry does not match its file name")
	}
	return &p, nil
}

// pendingSet holds the pending results of a Service by connection id.
type pendingSet struct {
	mu      sync.Mutex
	m       map[string]*pendingTokens
	running bool
}

// put records p (replacing an older result of the same connection, which
// p descends from), spools it and starts the replayer.
func (ps *pendingSet) put(s *Service, p *pendingTokens) {
	ps.mu.Lock()
	ps.m[p.Conn.ID] = p
	if s.cfg.SpoolDir != "" {
		if err := s.writeSpool(p); err != nil {
			s.log.Error("refresh spool write failed; the result is kept in memory only", "connection", p.Conn.ID, "err", err)
		}
	}
	ps.mu.Unlock()
	s.runReplayer()
}

// remove forgets p unless a newer result replaced it.
func (ps *pendingSet) remove(s *Service, p *pendingTokens) {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	if ps.m[p.Conn.ID] != p {
		return
	}
	delete(ps.m, p.Conn.ID)
	if s.cfg.SpoolDir != "" {
		s.removeSpool(p)
	}
}

func (ps *pendingSet) get(connID string) *pendingTokens {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	return ps.m[connID]
}

func (ps *pendingSet) all() []*pendingTokens {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	out := make([]*pendingTokens, 0, len(ps.m))
	for _, p := range ps.m {
		out = append(out, p)
	}
	return out
}
