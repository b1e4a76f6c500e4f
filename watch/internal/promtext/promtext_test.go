package promtext

import (
	"errors"
	"math"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

type got struct {
	Family, Type, Name string
	Labels             string
	Value              float64
}

func parseAll(t testing.TB, body string, f Format) ([]got, error) {
	t.Helper()
	var out []got
	p := NewParser([]byte(body), f)
	for p.Next() {
		s := p.Sample()
		var ls []string
		for _, l := range s.Labels {
			ls = append(ls, l.Name+"="+l.Value)
		}
		out = append(out, got{s.Family, s.Type.String(), s.Name, strings.Join(ls, ","), s.Value})
	}
	return out, p.Err()
}

func TestParse(t *testing.T) {
	tests := []struct {
		name   string
		format Format
		body   string
		want   []got
	}{
		{
			name: "classic counter named with _total on its TYPE line",
			body: "# HELP http_requests_total Requests.\n# TYPE http_requests_total counter\nhttp_requests_total{code=\"200\",method=\"get\"} 1027 1395066363000\n",
			want: []got{{"http_requests_total", "counter", "http_requests_total", "code=200,method=get", 1027}},
		},
		{
			name:   "OpenMetrics counter: family without _total, sample with it, _created attributed too, exemplar dropped",
			format: OpenMetrics,
			body:   "# TYPE rpc counter\n# UNIT rpc \nrpc_total{a=\"x\"} 5 # {trace_id=\"abc\"} 1.0 123\nrpc_created{a=\"x\"} 1.7e9\n# EOF\nignored_after_eof 1\n",
			want: []got{
				{"rpc", "counter", "rpc_total", "a=x", 5},
				{"rpc", "counter", "rpc_created", "a=x", 1.7e9},
			},
		},
		{
			name: "histogram buckets, sum and count belong to the family; +Inf parses",
			body: "# TYPE lat histogram\nlat_bucket{le=\"0.1\"} 3\nlat_bucket{le=\"+Inf\"} 4\nlat_sum 0.25\nlat_count 4\n",
			want: []got{
				{"lat", "histogram", "lat_bucket", "le=0.1", 3},
				{"lat", "histogram", "lat_bucket", "le=+Inf", 4},
				{"lat", "histogram", "lat_sum", "", 0.25},
				{"lat", "histogram", "lat_count", "", 4},
			},
		},
		{
			name: "summary quantiles carry the family name",
			body: "# TYPE go_gc_duration_seconds summary\ngo_gc_duration_seconds{quantile=\"0.5\"} 1e-05\ngo_gc_duration_seconds_sum 0.5\ngo_gc_duration_seconds_count 42\n",
			want: []got{
				{"go_gc_duration_seconds", "summary", "go_gc_duration_seconds", "quantile=0.5", 1e-05},
				{"go_gc_duration_seconds", "summary", "go_gc_duration_seconds_sum", "", 0.5},
				{"go_gc_duration_seconds", "summary", "go_gc_duration_seconds_count", "", 42},
			},
		},
		{
			name: "a sample the TYPE line does not claim starts its own untyped family",
			body: "# TYPE a gauge\na 1\na_total 2\nb 3\n",
			want: []got{
				{"a", "gauge", "a", "", 1},
				{"a_total", "untyped", "a_total", "", 2},
				{"b", "untyped", "b", "", 3},
			},
		},
		{
			name: "escapes, blanks around tokens, trailing comma, CRLF and an empty label set",
			body: "m { path = \"/a\\\"b\\\\c\\nd\" , } 7\r\nn{} -Inf\n\n",
			want: []got{
				{"m", "untyped", "m", "path=/a\"b\\c\nd", 7},
				{"n", "untyped", "n", "", math.Inf(-1)},
			},
		},
		{
			name: "UTF-8 names: quoted metric name inside the braces and a quoted label name",
			body: "# TYPE \"my.metric\" gauge\n{\"my.metric\", \"le.x\"=\"1\"} 2\n",
			want: []got{{"my.metric", "gauge", "my.metric", "le.x=1", 2}},
		},
		{
			name: "unknown types read as untyped; plain comments are skipped",
			body: "# a comment\n# TYPE x weird\nx 1\n",
			want: []got{{"x", "untyped", "x", "", 1}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := parseAll(t, tt.body, tt.format)
			if err != nil {
				t.Fatalf("error: %v", err)
			}
			if !reflect.DeepEqual(out, tt.want) {
				t.Errorf("got  %+v\nwant %+v", out, tt.want)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, body string
		line       int
	}{
		{"value missing", "a 1\nb\n", 2},
		{"value not a number", "a one\n", 1},
		{"label value not quoted", "a{b=c} 1\n", 1},
		{"label set not closed", "a{b=\"c\" 1\n", 1},
		{"bad escape", "a{b=\"\\t\"} 1\n", 1},
		{"bad name start", "1a 1\n", 1},
		{"nameless series", "{b=\"c\"} 1\n", 1},
		{"two quoted names", "{\"a\", \"b\"} 1\n", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseAll(t, tt.body, Text)
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("err = %v, want a *SyntaxError", err)
			}
			if se.Line != tt.line {
				t.Errorf("line = %d, want %d (%v)", se.Line, tt.line, err)
			}
		})
	}
}

func TestFormatOf(t *testing.T) {
	tests := []struct {
		ct      string
		want    Format
		wantErr error
	}{
		{"", Text, nil},
		{"text/plain; version=0.0.4; charset=utf-8; escaping=underscores", Text, nil},
		{"application/openmetrics-text; version=1.0.0; charset=utf-8", OpenMetrics, nil},
		{"application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited", Text, ErrProtobuf},
		{"text/html", Text, nil}, // read as text: a parse error will say what is wrong
	}
	for _, tt := range tests {
		f, err := FormatOf(tt.ct)
		if f != tt.want || !errors.Is(err, tt.wantErr) {
			t.Errorf("FormatOf(%q) = %v, %v; want %v, %v", tt.ct, f, err, tt.want, tt.wantErr)
		}
	}
}

// encode writes samples back in the classic text format: the oracle of the
// fuzz test's round trip.
func encode(samples []Sample) string {
	var b strings.Builder
	family, typ := "", Untyped
	for i, s := range samples {
		// A family whose type a later # TYPE line changed (the parser
		// takes the last one) needs its own line again.
		if i == 0 || s.Family != family || s.Type != typ {
			family, typ = s.Family, s.Type
			b.WriteString("# TYPE " + quoteName(s.Family, true) + " " + s.Type.String() + "\n")
		}
		b.WriteString("{" + quoteValue(s.Name))
		for _, l := range s.Labels {
			b.WriteString("," + quoteName(l.Name, false) + "=" + quoteValue(l.Value))
		}
		b.WriteString("} " + strconv.FormatFloat(s.Value, 'g', -1, 64) + "\n")
	}
	return b.String()
}

func quoteName(s string, metric bool) string {
	plain := s != ""
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(isNameChar(c) && (metric || c != ':')) || (i == 0 && '0' <= c && c <= '9') || (i == 0 && !metric && c == ':') {
			plain = false
		}
	}
	if plain {
		return s
	}
	return quoteValue(s)
}

func quoteValue(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)
	return `"` + r.Replace(s) + `"`
}

func collect(body string, f Format) ([]Sample, error) {
	var out []Sample
	p := NewParser([]byte(body), f)
	for p.Next() {
		s := *p.Sample()
		s.Labels = append([]Label(nil), s.Labels...)
		out = append(out, s)
	}
	return out, p.Err()
}

func sameSamples(a, b []Sample) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		x, y := a[i], b[i]
		if x.Family != y.Family || x.Type != y.Type || x.Name != y.Name || !reflect.DeepEqual(x.Labels, y.Labels) {
			return false
		}
		if x.Value != y.Value && !(math.IsNaN(x.Value) && math.IsNaN(y.Value)) {
			return false
		}
	}
	return true
}

// FuzzParse checks that the parser never panics and that whatever it
// accepts survives a round trip through the text encoder unchanged.
func FuzzParse(f *testing.F) {
	f.Add("# TYPE a counter\na_total{x=\"1\"} 2\n", false)
	f.Add("# TYPE rpc counter\nrpc_total 1 # {t=\"a\"} 1\n# EOF\n", true)
	f.Add("{\"my.metric\",\"a.b\"=\"c\\n\"} NaN 123\n", false)
	f.Add("# TYPE lat histogram\nlat_bucket{le=\"+Inf\"} 4\nlat_sum 0.25\nlat_count 4\n", false)
	f.Fuzz(func(t *testing.T, body string, om bool) {
		format := Text
		if om {
			format = OpenMetrics
		}
		first, err := collect(body, format)
		if err != nil {
			return
		}
		again, err := collect(encode(first), Text)
		if err != nil {
			t.Fatalf("re-encoded body does not parse: %v\n%s", err, encode(first))
		}
		if !sameSamples(first, again) {
			t.Fatalf("round trip changed the samples:\n%+v\n%+v", first, again)
		}
	})
}
