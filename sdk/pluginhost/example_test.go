package pluginhost_test

import (
	"context"
	"fmt"
	"os/exec"
	"testing"

	"github.com/hashicorp/go-plugin"

	"github.com/atomhq/atom/sdk/pluginhost"
	"github.com/atomhq/atom/sdk/provider"
	"github.com/atomhq/atom/sdk/providertest"
)

// How a host starts a plugin binary and calls it. (Not run: it needs a
// built plugin; see host/internal/runtimes/native for the full lifecycle.)
func ExampleDispense() {
	client := plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig:  pluginhost.Handshake,
		VersionedPlugins: pluginhost.VersionedPlugins(),
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		Cmd:              exec.Command("./atom-provider-hello"),
		SkipHostEnv:      true,
		AutoMTLS:         true,
	})
	defer client.Kill()
	rpc, err := client.Client()
	if err != nil {
		fmt.Println(err)
		return
	}
	p, err := pluginhost.Dispense(context.Background(), rpc)
	if err != nil {
		fmt.Println(err)
		return
	}
	resp, err := p.Execute(context.Background(), provider.Request{Action: "hello"}, providertest.NewHost())
	fmt.Println(string(resp.Output), err)
}

func ExampleVersionedPlugins() {
	fmt.Println(pluginhost.Handshake.MagicCookieKey, pluginhost.ProtocolVersion, len(pluginhost.VersionedPlugins()), len(pluginhost.PluginMap()))
	// Output: ATOM_PLUGIN 4 4 1
}

func ExampleClient_Execute() {
	t := &testing.T{}
	p := provider.New(provider.Manifest{ID: "hello", Version: "1.0.0"}).Action(provider.ActionDef{
		Name: "refresh",
		Handle: func(ctx context.Context, c *provider.Call) (any, error) {
			creds, err := provider.Refresh(ctx)
			return creds.AccessToken, err
		},
	})
	// Serve p over the real go-plugin gRPC transport in-process.
	client := providertest.Serve(t, p)
	host := providertest.NewHost()
	host.RefreshCredentials = provider.Credentials{Type: "oauth2", AccessToken: "brokered"}
	resp, err := client.Execute(context.Background(), provider.Request{Action: "refresh"}, host)
	fmt.Println(client.Manifest().Version, string(resp.Output), err, host.Refreshes())
	// Output: 1.0.0 "brokered" <nil> 1
}
