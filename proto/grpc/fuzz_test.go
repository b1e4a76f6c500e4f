package grpc

import (
	"context"
	"io"
	"io/fs"
	"strings"
	"testing"
	"time"

	"github.com/bufbuild/protocompile"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/dynamicpb"
)

const fuzzProto = `syntax = "proto3";
package f.v1;
import "google/protobuf/timestamp.proto";
message Item { int64 id = 1; string name = 2; repeated Item children = 3; map<string, int32> tags = 4; google.protobuf.Timestamp at = 5; Kind kind = 6; }
enum Kind { KIND_UNSPECIFIED = 0; KIND_A = 1; }
service S { rpc Get(Item) returns (Item); rpc List(Item) returns (stream Item); }
`

func compileSource(src string) (resolver, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c := protocompile.Compiler{Resolver: protocompile.WithStandardImports(&protocompile.SourceResolver{
		Accessor: func(path string) (io.ReadCloser, error) {
			if path != "f.proto" {
				return nil, fs.ErrNotExist
			}
			return io.NopCloser(strings.NewReader(src)), nil
		},
	})}
	files, err := c.Compile(ctx, "f.proto")
	if err != nil {
		return nil, oneLine(err)
	}
	return files.AsResolver(), nil
}

// FuzzMessage checks plan messages against a type: nothing panics, a
// message accepted without templates is one protojson accepts, and a
// refusal is one line.
func FuzzMessage(f *testing.F) {
	r, err := compileSource(fuzzProto)
	if err != nil {
		f.Fatal(err)
	}
	d, _ := r.FindDescriptorByName("f.v1.Item")
	md := d.(protoreflect.MessageDescriptor)
	for _, s := range []string{`{}`, `{"id": 1, "name": "a"}`, `{"children": [{"id": "2"}], "tags": {"a": 1}}`,
		`{"at": "2024-01-01T00:00:00Z", "kind": "KIND_A"}`, `{"id": "{{ vu }}", "nope": 1}`, `{"children": [{"x": "{{ a }}"}]}`,
		`{"id": {{ vu }}}`, `[1, 2]`, `{"id": 1e400}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		err := checkMessage(text, md)
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("a refusal on several lines: %q", err)
			}
			return
		}
		if !strings.Contains(text, "{{") {
			if err := protojson.Unmarshal([]byte(text), dynamicpb.NewMessage(md)); err != nil {
				t.Fatalf("accepted %q, which protojson refuses: %v", text, err)
			}
		}
	})
}

// FuzzProtoSource compiles arbitrary .proto text as grpc.proto would:
// nothing panics, a problem is one line, and a method lookup in what
// compiles answers or refuses without panicking.
func FuzzProtoSource(f *testing.F) {
	for _, s := range []string{fuzzProto, "syntax = \"proto3\";\nmessage A {\n  int64 id = ;\n}\n", "", "syntax = \"proto2\"; service S { rpc M(A) returns (stream A); } message A { optional int32 a = 1; }",
		"import \"missing.proto\";", "syntax = \"proto3\"; service S { rpc C(stream A) returns (A); } message A {}"} {
		f.Add(s, "f.v1.S/Get")
	}
	f.Fuzz(func(t *testing.T, src, method string) {
		r, err := compileSource(src)
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("a problem on several lines: %q", err)
			}
			return
		}
		if md, err := findMethod(r, method); err == nil && md.IsStreamingClient() {
			t.Fatalf("%s: a client-streaming method was accepted", method)
		}
	})
}
