package grpc

import (
	"context"
	"errors"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/stampede-perf/stampede/metrics"
)

// Classify maps a call's error to its kind and status code.
func Classify(err error) (metrics.ErrKind, int) {
	if errors.Is(err, context.DeadlineExceeded) {
		return metrics.KindTimeout, int(codes.DeadlineExceeded)
	}
	st, ok := status.FromError(err)
	if !ok {
		return metrics.KindOther, 0
	}
	code := st.Code()
	switch code {
	case codes.OK:
		return metrics.KindNone, 0
	case codes.DeadlineExceeded:
		return metrics.KindTimeout, int(code)
	case codes.InvalidArgument:
		return metrics.KindGRPCInvalidArgument, int(code)
	case codes.NotFound:
		return metrics.KindGRPCNotFound, int(code)
	case codes.Unimplemented:
		return metrics.KindGRPCUnimplemented, int(code)
	case codes.Unavailable:
		// The transport's failures say what they are only in the message.
		msg := st.Message()
		switch {
		case strings.Contains(msg, "connection refused"):
			return metrics.KindConnRefused, int(code)
		case strings.Contains(msg, "authentication handshake failed"), strings.Contains(msg, "tls:"):
			return metrics.KindTLS, int(code)
		}
		return metrics.KindGRPCUnavailable, int(code)
	case codes.ResourceExhausted:
		return metrics.KindGRPCResourceExhausted, int(code)
	case codes.Internal:
		return metrics.KindGRPCInternal, int(code)
	case codes.Unauthenticated:
		return metrics.KindGRPCUnauthenticated, int(code)
	}
	return metrics.KindGRPCError, int(code)
}
