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
}

// String is the kind's name in the Run document.
func (k ErrKind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "other"
}
