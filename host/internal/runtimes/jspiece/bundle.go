package jspiece

import (
	_ "embed"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/evanw/esbuild/pkg/api"
)

// BufferPackage is the npm package that provides Buffer to bundles.
const BufferPackage = "buffer@6.0.3"

// TiktokenPackage is the pure-JavaScript tokenizer that stands in for the
// npm package tiktoken (a .wasm encoder loaded through WebAssembly, which
// the engine lacks): tiktoken.js adapts its API. It must be installed
// beside a piece that uses tiktoken.
const TiktokenPackage = "js-tiktoken@1.0.21"

// SupportPackages are the npm packages installed beside every piece, for
// the bundler to draw from.
var SupportPackages = []string{BufferPackage, TiktokenPackage}

//go:embed tiktoken.js
var tiktokenAdapter string

// substitutes serves modules the bundle takes from the runtime instead of
// npm: tiktoken → tiktoken.js over js-tiktoken.
func substitutes(dir string) api.Plugin {
	return api.Plugin{Name: "atom-substitutes", Setup: func(b api.PluginBuild) {
		b.OnResolve(api.OnResolveOptions{Filter: `^tiktoken$`}, func(args api.OnResolveArgs) (api.OnResolveResult, error) {
			if _, err := os.Stat(filepath.Join(dir, "node_modules", "js-tiktoken", "package.json")); err != nil {
				return api.OnResolveResult{}, fmt.Errorf("the piece uses tiktoken: the npm package %s must be installed beside it", TiktokenPackage)
			}
			return api.OnResolveResult{Path: "tiktoken", Namespace: "atom-tiktoken"}, nil
		})
		b.OnLoad(api.OnLoadOptions{Filter: `.*`, Namespace: "atom-tiktoken"}, func(api.OnLoadArgs) (api.OnLoadResult, error) {
			return api.OnLoadResult{Contents: &tiktokenAdapter, ResolveDir: dir, Loader: api.LoaderJS}, nil
		})
	}}
}

// nodeBuiltins are the modules the bundle leaves to the runtime's require,
// which serves inert stand-ins (prelude.js).
var nodeBuiltins = []string{"assert", "async_hooks", "child_process", "constants", "crypto", "dns", "events",
	"fs", "fs/promises", "http", "http2", "https", "module", "net", "os", "path", "perf_hooks", "process", "punycode",
	"querystring", "readline", "stream", "stream/promises", "stream/web", "string_decoder", "timers", "timers/promises",
	"tls", "tty", "url", "util", "util/types", "v8", "vm", "worker_threads", "zlib", "node:*"}

// unavailable are npm packages a sandboxed piece cannot use (a browser to
// launch, a native addon): left out of the bundle, their require returns a
// stand-in that throws when used (prelude.js), so the piece loads and only
// the actions that need them fail.
var unavailable = []string{"playwright", "playwright-core", "puppeteer", "puppeteer-core", "sharp"}

// Bundle bundles the installed npm package pkg, resolved from dir (a
// directory with node_modules), into one CommonJS script for the runtime:
// browser builds of its dependencies where packages offer them, Node
// built-ins left to the runtime's require, syntax lowered to what the
// engine parses.
//
// Buffer comes from the npm package buffer (BufferPackage), which dir must
// hold: it is injected where the code uses the global Buffer and serves
// require("buffer").
func Bundle(dir, pkg string) ([]byte, error) {
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "buffer", "package.json")); err != nil {
		return nil, fmt.Errorf("bundle %s: the npm package %s must be installed beside it", pkg, BufferPackage)
	}
	// A fixed shim name and paths relative to dir: the same install
	// bundles to the same bytes, so plugins.lock can pin the result.
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("bundle %s: %w", pkg, err)
	}
	shim := filepath.Join(dir, ".atom-buffer.js")
	// Also a global, as in Node: for code that looks it up at run time
	// (the runtime's crypto returns Buffers through it).
	if err := writeAtomic(shim, []byte("import { Buffer } from 'buffer';\nexport { Buffer };\nif (typeof globalThis.Buffer === 'undefined') globalThis.Buffer = Buffer;\n")); err != nil {
		return nil, fmt.Errorf("bundle %s: %w", pkg, err)
	}
	res := api.Build(api.BuildOptions{
		AbsWorkingDir: dir,
		Inject:        []string{shim},
		Plugins:       []api.Plugin{substitutes(dir)},
		Stdin: &api.StdinOptions{
			Contents:   fmt.Sprintf("module.exports = require(%q);", pkg),
			ResolveDir: dir,
			Sourcefile: "atom-piece-entry.js",
		},
		Bundle:            true,
		Write:             false,
		Format:            api.FormatCommonJS,
		Platform:          api.PlatformBrowser,
		Target:            api.ES2020,
		External:          append(append([]string(nil), nodeBuiltins...), unavailable...),
		MainFields:        []string{"browser", "main", "module"},
		Define:            map[string]string{"process.env.NODE_ENV": `"production"`},
		MinifyWhitespace:  true,
		MinifySyntax:      true,
		LegalComments:     api.LegalCommentsNone,
		LogLevel:          api.LogLevelSilent,
		Charset:           api.CharsetUTF8,
		TreeShaking:       api.TreeShakingTrue,
		IgnoreAnnotations: false,
	})
	if len(res.Errors) > 0 {
		var msgs []string
		for i, e := range res.Errors {
			if i == 5 {
				msgs = append(msgs, fmt.Sprintf("and %d more", len(res.Errors)-5))
				break
			}
			loc := ""
			if e.Location != nil {
				loc = fmt.Sprintf("%s:%d: ", e.Location.File, e.Location.Line)
			}
			msgs = append(msgs, loc+e.Text)
		}
		return nil, fmt.Errorf("bundle %s: %s", pkg, strings.Join(msgs, "; "))
	}
	if len(res.OutputFiles) != 1 {
		return nil, errors.New("bundle " + pkg + ": esbuild wrote no output")
	}
	return res.OutputFiles[0].Contents, nil
}
