package demo

import (
	"context"
	"database/sql"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/bufbuild/protocompile"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/reflection"
	reflectionpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/dynamicpb"
)

// CatalogueProto is the .proto source of the gRPC catalogue, for plans
// that name their types instead of asking the server's reflection.
//
//go:embed catalogue.proto
var CatalogueProto string

// catalogue is the compiled shop.v1 file: its service and messages.
type catalogue struct {
	files                protoreflect.FileDescriptor
	svc                  protoreflect.ServiceDescriptor
	getReq, listReq, pro protoreflect.MessageDescriptor
}

func compileCatalogue() (*catalogue, error) {
	c := protocompile.Compiler{Resolver: &protocompile.SourceResolver{Accessor: func(path string) (io.ReadCloser, error) {
		if path != "catalogue.proto" {
			return nil, fmt.Errorf("no file %s", path)
		}
		return io.NopCloser(strings.NewReader(CatalogueProto)), nil
	}}}
	fs, err := c.Compile(context.Background(), "catalogue.proto")
	if err != nil {
		return nil, err
	}
	f := fs[0]
	msgs := f.Messages()
	return &catalogue{files: f, svc: f.Services().ByName("Catalogue"),
		getReq: msgs.ByName("GetProductRequest"), listReq: msgs.ByName("ListProductsRequest"), pro: msgs.ByName("Product")}, nil
}

// NewGRPCServer returns a gRPC server with the catalogue (shop.v1.Catalogue:
// GetProduct, unary; ListProducts, server streaming; see catalogue.proto)
// and server reflection. The messages are dynamic (no generated code):
// the service is described by the embedded catalogue.proto.
func (s *Shop) NewGRPCServer(opts ...grpc.ServerOption) (*grpc.Server, error) {
	cat, err := compileCatalogue()
	if err != nil {
		return nil, fmt.Errorf("cannot compile the catalogue: %w", err)
	}
	srv := grpc.NewServer(opts...)
	name := string(cat.svc.FullName())
	srv.RegisterService(&grpc.ServiceDesc{
		ServiceName: name,
		HandlerType: (*any)(nil),
		Methods: []grpc.MethodDesc{{MethodName: "GetProduct", Handler: func(_ any, ctx context.Context, dec func(any) error, ic grpc.UnaryServerInterceptor) (any, error) {
			in := dynamicpb.NewMessage(cat.getReq)
			if err := dec(in); err != nil {
				return nil, err
			}
			h := func(ctx context.Context, req any) (any, error) {
				return s.grpcProduct(ctx, cat, req.(*dynamicpb.Message))
			}
			if ic == nil {
				return h(ctx, in)
			}
			return ic(ctx, in, &grpc.UnaryServerInfo{Server: s, FullMethod: "/" + name + "/GetProduct"}, h)
		}}},
		Streams: []grpc.StreamDesc{{StreamName: "ListProducts", ServerStreams: true, Handler: func(_ any, stream grpc.ServerStream) error {
			in := dynamicpb.NewMessage(cat.listReq)
			if err := stream.RecvMsg(in); err != nil {
				return err
			}
			return s.grpcList(stream, cat, in)
		}}},
		Metadata: "catalogue.proto",
	}, s)
	files := new(protoregistry.Files)
	if err := files.RegisterFile(cat.files); err != nil {
		return nil, err
	}
	rs := reflection.NewServerV1(reflection.ServerOptions{Services: srv, DescriptorResolver: files})
	reflectionpb.RegisterServerReflectionServer(srv, rs)
	return srv, nil
}

func (s *Shop) grpcProduct(ctx context.Context, cat *catalogue, in *dynamicpb.Message) (any, error) {
	id := in.Get(cat.getReq.Fields().ByName("id")).Int()
	if id < 1 {
		return nil, status.Errorf(codes.InvalidArgument, "id must be ≥ 1, got %d", id)
	}
	var p product
	err := s.st.product.QueryRowContext(ctx, id).Scan(&p.ID, &p.Name, &p.PriceCents, &p.Stock)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, status.Errorf(codes.NotFound, "no product %d", id)
	}
	if err != nil {
		return nil, status.Errorf(codes.Internal, "read product: %v", err)
	}
	return productMessage(cat, p), nil
}

func productMessage(cat *catalogue, p product) *dynamicpb.Message {
	m := dynamicpb.NewMessage(cat.pro)
	f := cat.pro.Fields()
	m.Set(f.ByName("id"), protoreflect.ValueOfInt64(p.ID))
	m.Set(f.ByName("name"), protoreflect.ValueOfString(p.Name))
	m.Set(f.ByName("price_cents"), protoreflect.ValueOfInt64(p.PriceCents))
	m.Set(f.ByName("stock"), protoreflect.ValueOfInt64(p.Stock))
	return m
}

func (s *Shop) grpcList(stream grpc.ServerStream, cat *catalogue, in *dynamicpb.Message) error {
	f := cat.listReq.Fields()
	q := in.Get(f.ByName("q")).String()
	limit := int(in.Get(f.ByName("limit")).Int())
	switch {
	case limit == 0:
		limit = defaultLimit
	case limit < 1 || limit > maxLimit:
		return status.Errorf(codes.InvalidArgument, "limit must be 1 to %d, got %d", maxLimit, limit)
	case len(q) > maxQueryLen:
		return status.Errorf(codes.InvalidArgument, "q is longer than %d bytes", maxQueryLen)
	}
	ctx := stream.Context()
	var rows *sql.Rows
	var err error
	if q == "" {
		rows, err = s.st.listAll.QueryContext(ctx, limit, 0)
	} else {
		rows, err = s.st.listMatch.QueryContext(ctx, likePattern(q), limit, 0)
	}
	if err != nil {
		return status.Errorf(codes.Internal, "list products: %v", err)
	}
	defer rows.Close()
	for rows.Next() {
		var p product
		if err := rows.Scan(&p.ID, &p.Name, &p.PriceCents, &p.Stock); err != nil {
			return status.Errorf(codes.Internal, "list products: %v", err)
		}
		if err := stream.SendMsg(productMessage(cat, p)); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return status.Errorf(codes.Internal, "list products: %v", err)
	}
	return nil
}
