package grpc

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/bufbuild/protocompile"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	reflectionpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"
)

// resolver finds descriptors by full name.
type resolver interface {
	FindDescriptorByName(protoreflect.FullName) (protoreflect.Descriptor, error)
}

// CompileProtos compiles .proto files found in importPaths (with the
// standard google/protobuf imports), as a plan load does.
func CompileProtos(ctx context.Context, files, importPaths []string) (resolver, error) {
	c := protocompile.Compiler{
		Resolver: protocompile.WithStandardImports(&protocompile.SourceResolver{ImportPaths: importPaths}),
	}
	fs, err := c.Compile(ctx, files...)
	if err != nil {
		return nil, oneLine(err)
	}
	return fs.AsResolver(), nil
}

// oneLine keeps a compiler's first problem on one line.
func oneLine(err error) error {
	msg, _, _ := strings.Cut(err.Error(), "\n")
	return errors.New(msg)
}

// findMethod looks up "pkg.Service/Method" in r.
func findMethod(r resolver, method string) (protoreflect.MethodDescriptor, error) {
	svc, name, _ := strings.Cut(strings.TrimPrefix(method, "/"), "/")
	d, err := r.FindDescriptorByName(protoreflect.FullName(svc))
	if err != nil {
		return nil, fmt.Errorf("no service %s", svc)
	}
	sd, ok := d.(protoreflect.ServiceDescriptor)
	if !ok {
		return nil, fmt.Errorf("%s is not a service", svc)
	}
	md := sd.Methods().ByName(protoreflect.Name(name))
	if md == nil {
		var have []string
		for i := range sd.Methods().Len() {
			have = append(have, string(sd.Methods().Get(i).Name()))
		}
		return nil, fmt.Errorf("service %s has no method %s (it has %s)", svc, name, strings.Join(have, ", "))
	}
	if md.IsStreamingClient() {
		return nil, fmt.Errorf("%s is a client-streaming method: only unary and server-streaming calls are supported", method)
	}
	return md, nil
}

// reflector asks one server's reflection service for the files of the
// services steps call, once for all steps and VUs.
type reflector struct {
	dial func() (*grpc.ClientConn, error)

	mu    sync.Mutex // guards the fields below
	files *protoregistry.Files
	known map[string]bool // services whose files are in files
	tried map[string]time.Time
	err   map[string]error
}

// retryAfter is how long a failed lookup is remembered.
const retryAfter = time.Second

func newReflector(dial func() (*grpc.ClientConn, error)) *reflector {
	return &reflector{dial: dial, files: new(protoregistry.Files), known: map[string]bool{},
		tried: map[string]time.Time{}, err: map[string]error{}}
}

// method resolves method through the server's reflection. Safe for
// concurrent use.
func (r *reflector) method(ctx context.Context, method string) (protoreflect.MethodDescriptor, error) {
	svc, _, _ := strings.Cut(strings.TrimPrefix(method, "/"), "/")
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.known[svc] {
		if t, ok := r.tried[svc]; ok && time.Since(t) < retryAfter {
			return nil, r.err[svc]
		}
		r.tried[svc] = time.Now()
		if err := r.fetch(ctx, svc); err != nil {
			r.err[svc] = err
			return nil, err
		}
		r.known[svc] = true
	}
	md, err := findMethod(r.files, method)
	if err != nil {
		return nil, status.Error(codes.Unimplemented, err.Error()+" (by server reflection)")
	}
	return md, nil
}

// maxReflectedFiles bounds the files one lookup takes in.
const maxReflectedFiles = 1000

// fetch asks for the file defining svc and every file it imports.
func (r *reflector) fetch(ctx context.Context, svc string) error {
	conn, err := r.dial()
	if err != nil {
		return err
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	stream, err := reflectionpb.NewServerReflectionClient(conn).ServerReflectionInfo(ctx)
	if err != nil {
		return reflectionErr(err)
	}
	defer stream.CloseSend()
	got := map[string]*descriptorpb.FileDescriptorProto{}
	ask := func(req *reflectionpb.ServerReflectionRequest) error {
		if err := stream.Send(req); err != nil {
			return reflectionErr(err)
		}
		resp, err := stream.Recv()
		if err != nil {
			return reflectionErr(err)
		}
		if e := resp.GetErrorResponse(); e != nil {
			if codes.Code(e.GetErrorCode()) == codes.NotFound {
				return status.Errorf(codes.Unimplemented, "the server does not know %s (by server reflection): %s", svc, e.GetErrorMessage())
			}
			return status.Error(codes.Code(e.GetErrorCode()), "server reflection: "+e.GetErrorMessage())
		}
		for _, b := range resp.GetFileDescriptorResponse().GetFileDescriptorProto() {
			fd := new(descriptorpb.FileDescriptorProto)
			if err := proto.Unmarshal(b, fd); err != nil {
				return fmt.Errorf("server reflection sent a bad file descriptor: %w", err)
			}
			got[fd.GetName()] = fd
		}
		return nil
	}
	if err := ask(&reflectionpb.ServerReflectionRequest{MessageRequest: &reflectionpb.ServerReflectionRequest_FileContainingSymbol{FileContainingSymbol: svc}}); err != nil {
		return err
	}
	// Fetch imports the server did not send along, until none is missing.
	for {
		var missing []string
		for _, fd := range got {
			for _, dep := range fd.GetDependency() {
				if got[dep] == nil && !slices.Contains(missing, dep) {
					missing = append(missing, dep)
				}
			}
		}
		if len(missing) == 0 {
			break
		}
		if len(got) > maxReflectedFiles {
			return fmt.Errorf("server reflection: more than %d files", maxReflectedFiles)
		}
		for _, dep := range missing {
			if gd, err := r.files.FindFileByPath(dep); err == nil {
				got[dep] = protodesc.ToFileDescriptorProto(gd) // from an earlier lookup
				continue
			}
			if gd, err := protoregistry.GlobalFiles.FindFileByPath(dep); err == nil {
				got[dep] = protodesc.ToFileDescriptorProto(gd) // a well-known type
				continue
			}
			if err := ask(&reflectionpb.ServerReflectionRequest{MessageRequest: &reflectionpb.ServerReflectionRequest_FileByFilename{FileByFilename: dep}}); err != nil {
				return err
			}
			if got[dep] == nil {
				return fmt.Errorf("server reflection did not send %s", dep)
			}
		}
	}
	set := &descriptorpb.FileDescriptorSet{}
	for _, name := range slices.Sorted(maps.Keys(got)) {
		set.File = append(set.File, got[name])
	}
	files, err := protodesc.NewFiles(set)
	if err != nil {
		return fmt.Errorf("server reflection: %w", err)
	}
	var regErr error
	files.RangeFiles(func(fd protoreflect.FileDescriptor) bool {
		if _, err := r.files.FindFileByPath(fd.Path()); err == nil {
			return true
		}
		regErr = r.files.RegisterFile(fd)
		return regErr == nil
	})
	return regErr
}

func reflectionErr(err error) error {
	if status.Code(err) == codes.Unimplemented {
		return status.Error(codes.Unimplemented, "the server has no reflection service: list the .proto files under grpc.proto")
	}
	return err
}
