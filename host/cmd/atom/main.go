// Command atom is Atom's one binary: the host (`atom serve`) and its
// operational commands.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/atomhq/atom/host/internal/apikey"
	"github.com/atomhq/atom/host/internal/app"
	"github.com/atomhq/atom/host/internal/config"
	"github.com/atomhq/atom/host/internal/ids"
	"github.com/atomhq/atom/host/internal/store"
	"github.com/atomhq/atom/host/internal/vault"
)

const usage = `atom — integration runtime

Usage:
  atom serve [flags]                 start the host
  atom migrate up|status [flags]     apply or list database migrations
  atom tenant create --name NAME     create a tenant
  atom apikey create --tenant ID     create a tenant API key (shown once)
  atom vault rotate [flags]          re-encrypt every secret under the active key
  atom vault genkey [--id ID]        print a new key for ATOM_ENCRYPTION_KEYS
  atom generate integration ...      scaffold a native provider plugin
  atom catalog validate FILE...      check descriptor files (docs/descriptors.md)
  atom pieces add|list|remove        install Activepieces npm pieces as JS pieces
  atom version                       print the version

Every command takes the configuration flags (see 'atom serve -h'); each flag
mirrors an ATOM_* environment variable.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "atom:", err)
		}
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errors.New("a command is required")
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "serve":
		return serve(ctx, rest, stdout, stderr)
	case "migrate":
		return migrate(ctx, rest, stdout)
	case "tenant":
		return tenant(ctx, rest, stdout)
	case "apikey":
		return apiKey(ctx, rest, stdout)
	case "vault":
		return vaultCmd(ctx, rest, stdout, stderr)
	case "generate":
		return generate(rest, stdout)
	case "catalog":
		return catalogCmd(rest, stdout, stderr)
	case "pieces":
		return piecesCmd(ctx, rest, stdout, stderr)
	case "version", "--version", "-v":
		fmt.Fprintln(stdout, "atom", app.Version)
		return nil
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("unknown command %q", cmd)
}

// loadConfig parses configuration flags plus extra command flags.
func loadConfig(name string, args []string, extra func(fs *flag.FlagSet)) (config.Config, error) {
	env, err := config.ReadEnv(os.Environ(), os.ReadFile)
	if err != nil {
		return config.Config{}, err
	}
	cfg, _, err := config.LoadWith(name, args, env.Get, extra)
	if err != nil {
		return cfg, err
	}
	if cfg.Dev {
		cfg, _, err = app.DevSetup(cfg)
	}
	return cfg, err
}

func openMigrated(ctx context.Context, cfg config.Config) (store.Store, error) {
	st, err := app.OpenStore(ctx, cfg)
	if err != nil {
		return nil, err
	}
	if cfg.AutoMigrate {
		if _, err := app.Migrate(ctx, cfg, st); err != nil {
			st.Close()
			return nil, err
		}
	}
	return st, nil
}

func migrate(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) == 0 || (args[0] != "up" && args[0] != "status") {
		return errors.New("usage: atom migrate up|status [flags]")
	}
	cfg, err := loadConfig("atom migrate "+args[0], args[1:], nil)
	if err != nil {
		return err
	}
	st, err := app.OpenStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	if args[0] == "up" {
		applied, err := app.Migrate(ctx, cfg, st)
		if err != nil {
			return err
		}
		for _, m := range applied {
			fmt.Fprintf(stdout, "applied %05d %s\n", m.Version, m.Name)
		}
		fmt.Fprintf(stdout, "database is up to date (%s)\n", cfg.Backend())
		return nil
	}
	ms, err := app.MigrationStatus(ctx, cfg, st)
	if err != nil {
		return err
	}
	for _, m := range ms {
		state := "pending"
		if m.Applied {
			state = "applied " + m.AppliedAt.UTC().Format(time.RFC3339)
		}
		fmt.Fprintf(stdout, "%05d %-40s %s\n", m.Version, m.Name, state)
	}
	return nil
}

func tenant(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) == 0 || args[0] != "create" {
		return errors.New("usage: atom tenant create --name NAME [--id ID]")
	}
	var name, id string
	cfg, err := loadConfig("atom tenant create", args[1:], func(fs *flag.FlagSet) {
		fs.StringVar(&name, "name", "", "tenant name (required)")
		fs.StringVar(&id, "id", "", "tenant id (default: generated)")
	})
	if err != nil {
		return err
	}
	if strings.TrimSpace(name) == "" {
		return errors.New("--name is required")
	}
	st, err := openMigrated(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	if id == "" {
		id = ids.New("ten")
	}
	err = st.InTenant(ctx, id, func(tx store.Tx) error {
		return tx.CreateTenant(ctx, &store.Tenant{ID: id, Name: name})
	})
	if errors.Is(err, store.ErrConflict) {
		return fmt.Errorf("tenant %q already exists", id)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "{\"id\":%q,\"name\":%q}\n", id, name)
	return nil
}

func apiKey(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) == 0 || args[0] != "create" {
		return errors.New("usage: atom apikey create --tenant ID [--name NAME]")
	}
	var tenantID, name string
	cfg, err := loadConfig("atom apikey create", args[1:], func(fs *flag.FlagSet) {
		fs.StringVar(&tenantID, "tenant", "", "tenant id (required)")
		fs.StringVar(&name, "name", "", "a label for the key")
	})
	if err != nil {
		return err
	}
	if tenantID == "" {
		return errors.New("--tenant is required")
	}
	st, err := openMigrated(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	key, err := createAPIKey(ctx, st, tenantID, name)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "{\"id\":%q,\"key\":%q}\n", key.ID, key.Key)
	return nil
}

type newKey struct{ ID, Key string }

func createAPIKey(ctx context.Context, st store.Store, tenantID, name string) (newKey, error) {
	key, lookup, hash := apikey.New()
	k := &store.APIKey{Name: name, Prefix: lookup, Hash: hash}
	err := st.InTenant(ctx, tenantID, func(tx store.Tx) error {
		if _, err := tx.GetTenant(ctx); err != nil {
			return err
		}
		return tx.CreateAPIKey(ctx, k)
	})
	if errors.Is(err, store.ErrNotFound) {
		return newKey{}, fmt.Errorf("no tenant %q", tenantID)
	}
	return newKey{ID: k.ID, Key: key}, err
}

func vaultCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return errors.New("usage: atom vault rotate|genkey")
	}
	switch args[0] {
	case "genkey":
		fs := flag.NewFlagSet("atom vault genkey", flag.ContinueOnError)
		id := fs.String("id", "k"+time.Now().UTC().Format("20060102"), "key id")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		k, err := vault.Generate(*id)
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, k)
		return nil
	case "rotate":
		cfg, err := loadConfig("atom vault rotate", args[1:], nil)
		if err != nil {
			return err
		}
		kr, err := app.LoadKeyring(cfg)
		if err != nil {
			return err
		}
		st, err := openMigrated(ctx, cfg)
		if err != nil {
			return err
		}
		defer st.Close()
		_, err = app.RotateKeys(ctx, st, kr, stderr)
		return err
	}
	return fmt.Errorf("unknown vault command %q: use rotate or genkey", args[0])
}
