package tmpl

// AppendURL appends the expansion of t as the path (and query) of a URL:
// literal text as written, and every value — a variable, a feeder cell,
// an environment variable — percent-encoded for where it lands: as one
// path segment before the first literal '?' (so '/', '?', '#', '%' and
// spaces in a value cannot change the request's path or line), as a query
// value after it ('&', '=' and '+' too). Built-ins (vu, iteration, uuid,
// random_int, random_string, timestamp) expand to characters that need no
// encoding. Like Append, it allocates only when dst must grow.
func (t *Template) AppendURL(dst []byte, s *State) []byte {
	if len(t.ops) == 0 { // text without actions
		return append(dst, t.lit...)
	}
	query := false
	for i := range t.ops {
		o := &t.ops[i]
		switch o.kind {
		case opLit:
			dst = append(dst, o.text...)
			if !query {
				for j := 0; j < len(o.text); j++ {
					if o.text[j] == '?' {
						query = true
						break
					}
				}
			}
			continue
		case opEnv:
			dst = appendURLValue(dst, o.text, query)
			continue
		case opVar:
			if s == nil {
				continue
			}
			if v, ok := s.Get(o.text); ok {
				dst = appendURLValue(dst, v, query)
			} else if o.hasDef {
				dst = appendURLValue(dst, o.def, query)
			} else if s.missing == "" {
				s.missing = o.text
			}
			continue
		case opFeed:
			if s != nil {
				dst = appendURLValue(dst, s.row(o.feeder)[o.col], query)
			}
			continue
		}
		if s != nil { // a built-in
			dst = appendOp(dst, o, s)
		}
	}
	return dst
}

const upperHex = "0123456789ABCDEF"

// appendURLValue appends v percent-encoded as a path segment (RFC 3986
// pchar) or, in the query, as a query value (unreserved characters only,
// space as '+').
func appendURLValue(dst []byte, v string, query bool) []byte {
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '-', c == '.', c == '_', c == '~':
			dst = append(dst, c)
		case query && c == ' ':
			dst = append(dst, '+')
		case !query && (c == '!' || c == '$' || c == '&' || c == '\'' || c == '(' || c == ')' || c == '*' ||
			c == '+' || c == ',' || c == ';' || c == '=' || c == ':' || c == '@'):
			dst = append(dst, c)
		default:
			dst = append(dst, '%', upperHex[c>>4], upperHex[c&15])
		}
	}
	return dst
}
