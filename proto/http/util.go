package http

import (
	"encoding/json"
	"unsafe"
)

// bytesString views b as a string without copying; b must not change
// while the string is used.
func bytesString(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

const hexDigits = "0123456789ABCDEF"

// appendEscaped appends s escaped for a query component.
func appendEscaped(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9',
			c == '-', c == '_', c == '.', c == '~':
			dst = append(dst, c)
		case c == ' ':
			dst = append(dst, '+')
		default:
			dst = append(dst, '%', hexDigits[c>>4], hexDigits[c&15])
		}
	}
	return dst
}

// jsonBody encodes a YAML-decoded JSON body. Template markers in string
// values survive encoding unchanged, so they are expanded afterwards.
func jsonBody(v any) (string, error) {
	b, err := json.Marshal(normalize(v))
	if err != nil {
		return "", err
	}
	return string(b), nil
}

// normalize turns map[any]any (some YAML decoders) into map[string]any.
func normalize(v any) any {
	switch t := v.(type) {
	case map[any]any:
		m := make(map[string]any, len(t))
		for k, x := range t {
			m[toString(k)] = normalize(x)
		}
		return m
	case map[string]any:
		m := make(map[string]any, len(t))
		for k, x := range t {
			m[k] = normalize(x)
		}
		return m
	case []any:
		out := make([]any, len(t))
		for i, x := range t {
			out[i] = normalize(x)
		}
		return out
	}
	return v
}

func toString(k any) string {
	if s, ok := k.(string); ok {
		return s
	}
	b, _ := json.Marshal(k)
	return string(b)
}

// JSONBody encodes a YAML-decoded JSON value for the other step runners
// (WebSocket and gRPC messages), templates kept for expansion.
func JSONBody(v any) (string, error) { return jsonBody(v) }
