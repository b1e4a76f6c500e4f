package dist

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"

	"github.com/stampede-perf/stampede/result"
)

// Protocol is the version of the messages below; the hello carries it
// beside the stampede release.
const Protocol = 1

// Bounds of what travels.
const (
	// MaxShipped is the most plan and data files a job may carry.
	MaxShipped = 64 << 20
	// MaxMessage is the largest message either side accepts (a job, or
	// an agent's final Run with its windows).
	MaxMessage = 128 << 20
	// MaxAgents is the most agents one coordinator takes.
	MaxAgents = 1024
)

// Job is what the coordinator gives an agent to run.
type Job struct {
	// Segment is the agent's part, "k/n".
	Segment string `json:"segment"`
	// PlanName is the plan file's base name; PlanYAML its bytes (empty
	// for a test given by flags alone).
	PlanName string `json:"plan_name,omitempty"`
	PlanYAML []byte `json:"plan_yaml,omitempty"`
	// Files are the files the plan names by relative paths (data,
	// bodies, TLS files), relative to the plan's directory.
	Files []File `json:"files,omitempty"`
	// Args are the load flags given with the plan on the coordinator's
	// command line (--rate, --duration…), applied the same way on the
	// agent.
	Args []string `json:"args,omitempty"`
	// PlanHash is the coordinator's identity of the plan, which the
	// agents' Runs carry (their own copies of the files lie elsewhere).
	PlanHash string `json:"plan_hash,omitempty"`
	// DefaultSLO judges a plan without thresholds by the default SLO.
	DefaultSLO bool `json:"default_slo,omitempty"`
	// HeartbeatMS is how long either side may stay silent.
	HeartbeatMS int64 `json:"heartbeat_ms"`
	// Proof is an HMAC of the agent's nonce with the shared token.
	Proof string `json:"proof"`
}

// File is one shipped file.
type File struct {
	Path string `json:"path"`
	Data []byte `json:"data"`
}

// hello is an agent's first message.
type hello struct {
	Version  string `json:"version"`
	Protocol int    `json:"protocol"`
	Host     string `json:"host"`
	Nonce    string `json:"nonce"`
	// Index is the part the agent asks for (0-based, from an Indexed
	// Job's completion index), or -1 for any.
	Index int `json:"index"`
}

type ping struct {
	Seq int   `json:"seq"`
	T1  int64 `json:"t1"` // coordinator's clock, Unix ns
}

type pong struct {
	Seq int   `json:"seq"`
	T1  int64 `json:"t1"`
	T2  int64 `json:"t2"` // agent's clock when it answered
}

type start struct {
	At     int64 `json:"at"`     // coordinator's clock, Unix ns
	Offset int64 `json:"offset"` // agent's clock − coordinator's, ns
}

// up is a message from an agent; exactly one field is set.
type up struct {
	Hello  *hello         `json:"hello,omitempty"`
	Ready  bool           `json:"ready,omitempty"`
	Fail   string         `json:"fail,omitempty"`
	Pong   *pong          `json:"pong,omitempty"`
	Window *result.Window `json:"window,omitempty"`
	Done   *result.Run    `json:"done,omitempty"`
	Beat   bool           `json:"beat,omitempty"`
}

// down is a message from the coordinator; exactly one field is set.
type down struct {
	Refuse string `json:"refuse,omitempty"`
	Job    *Job   `json:"job,omitempty"`
	Ping   *ping  `json:"ping,omitempty"`
	Start  *start `json:"start,omitempty"`
	Stop   string `json:"stop,omitempty"`
	Beat   bool   `json:"beat,omitempty"`
}

// jsonCodec carries the messages above; it is forced on both ends rather
// than registered, so nothing global changes.
type jsonCodec struct{}

func (jsonCodec) Marshal(v any) ([]byte, error)      { return json.Marshal(v) }
func (jsonCodec) Unmarshal(data []byte, v any) error { return json.Unmarshal(data, v) }
func (jsonCodec) Name() string                       { return "json" }

const (
	serviceName = "stampede.dist.Coordinator"
	joinMethod  = "/" + serviceName + "/Join"
)

// joiner is what the service's one method is served by.
type joiner interface {
	join(grpc.ServerStream) error
}

var serviceDesc = grpc.ServiceDesc{
	ServiceName: serviceName,
	HandlerType: (*joiner)(nil),
	Streams: []grpc.StreamDesc{{
		StreamName:    "Join",
		Handler:       func(srv any, s grpc.ServerStream) error { return srv.(joiner).join(s) },
		ServerStreams: true,
		ClientStreams: true,
	}},
	Metadata: "dist/wire.go",
}

// tokenCreds sends the shared token with every call.
type tokenCreds string

func (t tokenCreds) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"authorization": "Bearer " + string(t)}, nil
}

// RequireTransportSecurity is false: a token without TLS is allowed on a
// trusted network (loopback, a cluster's pod network); the docs say to
// add TLS elsewhere.
func (tokenCreds) RequireTransportSecurity() bool { return false }

// errWrongToken is the reason every side prints for a token mismatch.
const errWrongToken = "wrong token: give the coordinator and its agents the same --token (or STAMPEDE_TOKEN)"

// checkToken is the interceptor that refuses any call without the token;
// refused is told of each refusal.
func checkToken(token string, refused func(addr string)) grpc.StreamServerInterceptor {
	want := sha256.Sum256([]byte(token))
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		md, _ := metadata.FromIncomingContext(ss.Context())
		var got string
		if v := md.Get("authorization"); len(v) == 1 {
			got = strings.TrimPrefix(v[0], "Bearer ")
		}
		g := sha256.Sum256([]byte(got))
		if subtle.ConstantTimeCompare(want[:], g[:]) != 1 {
			addr := "?"
			if p, ok := peer.FromContext(ss.Context()); ok {
				addr = p.Addr.String()
			}
			refused(addr)
			return status.Error(codes.Unauthenticated, errWrongToken)
		}
		return handler(srv, ss)
	}
}

// refuseUnary refuses unary calls: the service has none, and a stray one
// must not pass the token check by another path.
func refuseUnary(context.Context, any, *grpc.UnaryServerInfo, grpc.UnaryHandler) (any, error) {
	return nil, status.Error(codes.Unimplemented, "no such call")
}

// proof is the HMAC of nonce under token.
func proof(token, nonce string) string {
	m := hmac.New(sha256.New, []byte(token))
	m.Write([]byte(nonce))
	return hex.EncodeToString(m.Sum(nil))
}

// ServerTLS reads the coordinator's certificate and key.
func ServerTLS(certFile, keyFile string) (*tls.Config, error) {
	if certFile == "" && keyFile == "" {
		return nil, nil
	}
	if certFile == "" || keyFile == "" {
		return nil, errors.New("--tls-cert and --tls-key go together")
	}
	c, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("--tls-cert %s / --tls-key %s: %v", certFile, keyFile, err)
	}
	return &tls.Config{Certificates: []tls.Certificate{c}, MinVersion: tls.VersionTLS12}, nil
}

// ClientTLS trusts caFile (the system's roots when empty) to verify the
// coordinator.
func ClientTLS(caFile string) (*tls.Config, error) {
	c := &tls.Config{MinVersion: tls.VersionTLS12}
	if caFile == "" {
		return c, nil
	}
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("--tls-ca: %v", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("--tls-ca %s: no PEM certificate in it", caFile)
	}
	c.RootCAs = pool
	return c, nil
}

func transportCreds(t *tls.Config) credentials.TransportCredentials {
	if t == nil {
		return nil
	}
	return credentials.NewTLS(t)
}

// oneLine keeps a reason to one line for the other side's message.
func oneLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	return s
}
