package metrics

// ErrKind classifies a failed request.
type ErrKind uint8

// Error kinds. KindNone is success.
const (
	KindNone ErrKind = iota
	KindTimeout
	KindConnRefused
	KindConnReset
	KindDNS
	KindTLS
	KindHTTP4xx
	KindHTTP5xx
	KindCheckFailed
	KindExtractFailed
	KindSQL
	KindDeadlock
	KindSerialization
	KindPoolExhausted
	KindOther
	// KindLockTimeout is a statement that gave up waiting for a lock
	// (PostgreSQL lock_timeout, MySQL innodb_lock_wait_timeout, SQLite
	// busy), told apart from a statement that was merely slow. It comes
	// after KindOther so that the values of the older kinds stay put.
	KindLockTimeout
	// KindBodyTooLarge is a response body larger than what the step may
	// keep to check or extract from (target.max_body).
	KindBodyTooLarge
	// KindWSClosed is a WebSocket connection that ended while a step used
	// it; the sample's Status is the close code (1006: dropped without a
	// close frame), so disconnects are counted by cause.
	KindWSClosed
	// gRPC status codes: the common ones are kinds of their own, the rest
	// KindGRPCError; the sample's Status is always the code's number.
	// DEADLINE_EXCEEDED is KindTimeout.
	KindGRPCInvalidArgument
	KindGRPCNotFound
	KindGRPCUnimplemented
	KindGRPCUnavailable
	KindGRPCResourceExhausted
	KindGRPCInternal
	KindGRPCUnauthenticated
	KindGRPCError
	// KindBadMessage is a message the step could not encode: its JSON,
	// once expanded, does not fit the message type.
	KindBadMessage
	numKinds
)

var kindNames = [numKinds]string{
	KindNone:          "",
	KindTimeout:       "timeout",
	KindConnRefused:   "connection_refused",
	KindConnReset:     "connection_reset",
	KindDNS:           "dns",
	KindTLS:           "tls",
	KindHTTP4xx:       "http_4xx",
	KindHTTP5xx:       "http_5xx",
	KindCheckFailed:   "check_failed",
	KindExtractFailed: "extract_failed",
	KindSQL:           "sql_error",
	KindDeadlock:      "deadlock",
	KindSerialization: "serialization_failure",
	KindPoolExhausted: "pool_exhausted",
	KindOther:         "other",
	KindLockTimeout:   "lock_timeout",
	KindBodyTooLarge:  "body_too_large",

	KindWSClosed:              "ws_closed",
	KindGRPCInvalidArgument:   "grpc_invalid_argument",
	KindGRPCNotFound:          "grpc_not_found",
	KindGRPCUnimplemented:     "grpc_unimplemented",
	KindGRPCUnavailable:       "grpc_unavailable",
	KindGRPCResourceExhausted: "grpc_resource_exhausted",
	KindGRPCInternal:          "grpc_internal",
	KindGRPCUnauthenticated:   "grpc_unauthenticated",
	KindGRPCError:             "grpc_error",
	KindBadMessage:            "bad_message",
}

// String is the kind's name in the Run document.
func (k ErrKind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "other"
}
