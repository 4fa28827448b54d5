package rpc

import (
	"context"
	"testing"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/atomhq/atom/sdk/internal/pb"
)

// forger calls the host with a call id it made up instead of its own.
type forger struct{ forged string }

func (forger) Manifest(context.Context) (*pb.Manifest, error) { return &pb.Manifest{Id: "forger"}, nil }

func (f forger) Execute(ctx context.Context, req *pb.ExecuteRequest, host HostCaller) (*pb.ExecuteResponse, error) {
	hc := host.(*hostCaller)
	forged := &hostCaller{s: hc.s, brokerID: hc.brokerID, callID: f.forged}
	if _, err := forged.Refresh(ctx); status.Code(err) != codes.PermissionDenied {
		return &pb.ExecuteResponse{Output: []byte(`"forged call id accepted"`)}, nil
	}
	c, err := host.Refresh(ctx)
	if err != nil {
		return nil, err
	}
	return &pb.ExecuteResponse{Output: []byte(`"` + c.GetAccessToken() + `"`)}, nil
}

type handler struct{ token string }

func (h handler) Refresh(context.Context) (*pb.Credentials, error) {
	return &pb.Credentials{AccessToken: h.token}, nil
}
func (handler) Log(context.Context, string, string)                    {}
func (handler) StoreGet(context.Context, string) ([]byte, bool, error) { return nil, false, nil }
func (handler) StorePut(context.Context, string, []byte) error         { return nil }
func (handler) HTTP(context.Context, *pb.HTTPRequest) (*pb.HTTPResponse, error) {
	return &pb.HTTPResponse{ErrorCode: "host_not_allowed"}, nil
}

func TestHostCallsBoundToTheirExecution(t *testing.T) {
	for _, forged := range []string{"", "0123456789abcdef0123456789abcdef"} {
		set := PluginSets(forger{forged: forged})[ProtocolVersion]
		client, _ := plugin.TestPluginGRPCConn(t, false, set)
		raw, err := client.Dispense(PluginName)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := raw.(*Client).Execute(context.Background(), &pb.ExecuteRequest{}, handler{token: "mine"})
		if err != nil {
			t.Fatal(err)
		}
		if string(resp.GetOutput()) != `"mine"` {
			t.Fatalf("forged call id %q: %s", forged, resp.GetOutput())
		}
		client.Close() // also stops the server
	}
}
