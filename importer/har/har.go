// Package har turns a recorded browser session (HAR 1.2, as browsers'
// developer tools and proxies save it) into a plan.
//
// The recording becomes one scenario whose steps are the recorded requests
// in the order they started. Static assets (style sheets, scripts, images,
// fonts, media) are dropped unless asked for: a load test of an API or a
// page's dynamic requests rarely wants to measure a CDN. Requests are
// grouped by the page they belong to, each page opening with a comment
// naming it. The pause between the end of one kept request and the start
// of the next becomes the first one's think time.
//
// Correlation is the part a person gets wrong by hand: a value the server
// generated (a session token, an order id, a CSRF field) and the browser
// sent back later must be extracted from the response each time the plan
// runs, not replayed as recorded. For every value a request sends (path
// segments, query and form values, JSON body values, header values and
// bearer tokens) the importer looks for the latest earlier response that
// held it — a JSON value, a response header, or text in an HTML or other
// body — and that no earlier request had sent already (that would be the
// user's own input echoed back). A match becomes an `extract:` on the
// responding step (a gjson path, a header, or a regex verified against the
// recorded body) and a `{{ variable }}` reference wherever the value was
// sent.
package har

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"mime"
	"net/url"
	"path"
	"reflect"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/tidwall/gjson"

	"github.com/stampede-perf/stampede/importer"
)

// Limits on what is read.
const (
	MaxFile    = 256 << 20 // bytes of HAR read
	MaxEntries = 100_000   // entries read
	MaxSteps   = 1000      // requests kept (plan.MaxSteps)
	maxBody    = 8 << 20   // a request body a step may send
	maxScan    = 1 << 20   // bytes of one text response searched for values
	maxTokens  = 200       // values of one request tried as correlations
	minThink   = 50 * time.Millisecond
	maxThink   = time.Hour
)

// Options change what is kept.
type Options struct {
	KeepStatic bool // keep style sheets, scripts, images, fonts and media
}

type file struct {
	Log *struct {
		Version string  `json:"version"`
		Pages   []page  `json:"pages"`
		Entries []entry `json:"entries"`
	} `json:"log"`
}

type page struct {
	ID              string `json:"id"`
	Title           string `json:"title"`
	StartedDateTime string `json:"startedDateTime"`
}

type nv struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

type entry struct {
	Pageref         string  `json:"pageref"`
	StartedDateTime string  `json:"startedDateTime"`
	Time            float64 `json:"time"`
	ResourceType    string  `json:"_resourceType"`
	Request         struct {
		Method   string `json:"method"`
		URL      string `json:"url"`
		Headers  []nv   `json:"headers"`
		PostData *struct {
			MimeType string `json:"mimeType"`
			Text     string `json:"text"`
			Params   []nv   `json:"params"`
		} `json:"postData"`
	} `json:"request"`
	Response struct {
		Status  int  `json:"status"`
		Headers []nv `json:"headers"`
		Content struct {
			MimeType string `json:"mimeType"`
			Text     string `json:"text"`
			Encoding string `json:"encoding"`
		} `json:"content"`
	} `json:"response"`
}

// Read reads a HAR document from r, at most MaxFile bytes.
func Read(r io.Reader, name string, o Options) (*importer.Plan, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxFile+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %v", name, err)
	}
	if len(data) > MaxFile {
		return nil, fmt.Errorf("%s: larger than %d MiB, the most a HAR import reads", name, MaxFile>>20)
	}
	return Import(data, name, o)
}

// Import turns a HAR document into a plan; name is the file's name in
// errors.
func Import(data []byte, name string, o Options) (*importer.Plan, error) {
	var f file
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, jsonError(name, data, err)
	}
	if f.Log == nil || f.Log.Entries == nil {
		return nil, fmt.Errorf("%s: not a HAR file: no log.entries (a HAR is JSON with log.version and log.entries, as a browser's developer tools save it)", name)
	}
	if len(f.Log.Entries) > MaxEntries {
		return nil, fmt.Errorf("%s: %d entries, more than the %d a HAR import reads", name, len(f.Log.Entries), MaxEntries)
	}
	im := &importing{name: name, o: o, pages: map[string]page{}}
	for _, p := range f.Log.Pages {
		im.pages[p.ID] = p
	}
	if err := im.collect(f.Log.Entries); err != nil {
		return nil, err
	}
	if len(im.reqs) == 0 {
		return nil, fmt.Errorf("%s: no request left to import (%s)", name, im.droppedText())
	}
	if len(im.reqs) > MaxSteps {
		return nil, fmt.Errorf("%s: %d requests to import, more than the %d steps a plan holds (cut the recording, or leave static assets out)", name, len(im.reqs), MaxSteps)
	}
	im.correlate()
	return im.plan(), nil
}

// jsonError gives a decoding error the line and column it happened at.
func jsonError(name string, data []byte, err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		// Offset counts the bytes read, the bad one included.
		l, c := lineCol(data, syn.Offset-1)
		return fmt.Errorf("%s:%d:%d: not a HAR file: %v", name, l, c, syn)
	case errors.As(err, &typ):
		l, c := lineCol(data, typ.Offset-1)
		field, want := typ.Field, map[reflect.Kind]string{reflect.Slice: "an array", reflect.Struct: "an object", reflect.Pointer: "an object",
			reflect.String: "a string", reflect.Float64: "a number", reflect.Int: "a whole number"}[typ.Type.Kind()]
		if field == "" {
			field, want = "the document", "an object with log.entries"
		}
		return fmt.Errorf("%s:%d:%d: not a HAR file: %s is a JSON %s, want %s", name, l, c, field, typ.Value, want)
	}
	return fmt.Errorf("%s: not a HAR file: %v", name, err)
}

func lineCol(data []byte, off int64) (int, int) {
	off = min(max(off, 0), int64(len(data)))
	before := data[:off]
	line := bytes.Count(before, []byte("\n")) + 1
	col := len(before) - bytes.LastIndexByte(before, '\n')
	return line, col
}

// req is one kept request as the plan will send it.
type req struct {
	index   int // entry index in the file
	start   time.Time
	end     time.Time
	pageref string
	method  string
	origin  string
	path    string // path and query, as recorded
	headers []importer.KV
	body    string
	status  int
	// The response, for correlation.
	respHeaders []nv
	respBody    string
	respJSON    bool // the body is valid JSON
	respHTML    bool // the body is a page
	extract     []importer.Extract
	notes       []string
}

type importing struct {
	name    string
	o       Options
	pages   map[string]page
	reqs    []*req
	dropped map[string]int
	cookies bool // a kept request sent cookies
	// occurrences indexes the responses' values (see index); truncated
	// is set when there were more than maxIndexed.
	occurrences map[string][]occurrence
	truncated   bool
	encoded     bool // a kept request asked for compression
}

func (im *importing) drop(why string) {
	if im.dropped == nil {
		im.dropped = map[string]int{}
	}
	im.dropped[why]++
}

func (im *importing) droppedText() string {
	if len(im.dropped) == 0 {
		return "nothing was left out"
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(im.dropped)) {
		parts = append(parts, fmt.Sprintf("%d %s", im.dropped[k], k))
	}
	return "left out: " + strings.Join(parts, ", ")
}

var staticTypes = map[string]bool{"stylesheet": true, "script": true, "image": true, "font": true, "media": true,
	"texttrack": true, "manifest": true, "other-static": true}

var staticExt = map[string]bool{".css": true, ".js": true, ".mjs": true, ".map": true, ".png": true, ".jpg": true,
	".jpeg": true, ".gif": true, ".svg": true, ".ico": true, ".webp": true, ".avif": true, ".woff": true,
	".woff2": true, ".ttf": true, ".otf": true, ".eot": true, ".mp4": true, ".webm": true, ".mp3": true}

func isStatic(e *entry, u *url.URL) bool {
	if staticTypes[strings.ToLower(e.ResourceType)] {
		return true
	}
	if e.ResourceType == "" && staticExt[strings.ToLower(path.Ext(u.Path))] {
		return true
	}
	mt, _, _ := mime.ParseMediaType(e.Response.Content.MimeType)
	switch {
	case strings.HasPrefix(mt, "image/"), strings.HasPrefix(mt, "font/"), strings.HasPrefix(mt, "audio/"), strings.HasPrefix(mt, "video/"),
		mt == "text/css", mt == "text/javascript", mt == "application/javascript", mt == "application/x-javascript":
		return e.ResourceType == "" || e.ResourceType == "other"
	}
	return false
}

// Request headers that are the client's own business, not the plan's.
var dropHeaders = map[string]string{
	"host": "", "content-length": "", "connection": "", "keep-alive": "", "transfer-encoding": "", "te": "",
	"upgrade": "", "proxy-connection": "", "proxy-authorization": "",
	"if-none-match": "", "if-modified-since": "", // a load test wants the full response
	"cookie":          "cookies",
	"accept-encoding": "encoding",
}

func (im *importing) collect(entries []entry) error {
	for i := range entries {
		e := &entries[i]
		at := fmt.Sprintf("%s: log.entries[%d]", im.name, i)
		u, err := url.Parse(e.Request.URL)
		if err != nil {
			return fmt.Errorf("%s.request.url: %v", at, err)
		}
		if u.Scheme != "http" && u.Scheme != "https" {
			im.drop("non-HTTP requests (data:, ws:, extensions)")
			continue
		}
		origin, err := importer.Origin(u)
		if err != nil {
			return fmt.Errorf("%s.request.url: %v", at, err)
		}
		start, err := time.Parse(time.RFC3339Nano, e.StartedDateTime)
		if err != nil {
			return fmt.Errorf("%s.startedDateTime: %q is not an ISO 8601 time (want e.g. 2026-01-02T15:04:05.000Z)", at, e.StartedDateTime)
		}
		method := strings.ToUpper(e.Request.Method)
		switch method {
		case "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS":
		default:
			im.drop("requests with methods a plan cannot send")
			continue
		}
		if method == "OPTIONS" && header(e.Request.Headers, "Access-Control-Request-Method") != "" {
			im.drop("CORS preflights (the browser's own)")
			continue
		}
		if !im.o.KeepStatic && isStatic(e, u) {
			im.drop("static assets (--keep-static keeps them)")
			continue
		}
		if e.Response.Status == 0 {
			im.drop("requests that got no response")
			continue
		}
		if e.Response.Status < 100 || e.Response.Status > 599 {
			return fmt.Errorf("%s.response.status: %d is not an HTTP status", at, e.Response.Status)
		}
		r := &req{index: i, start: start, pageref: e.Pageref, method: method, origin: origin, status: e.Response.Status,
			respHeaders: e.Response.Headers}
		if e.Time > 0 && e.Time < float64(24*time.Hour/time.Millisecond) {
			r.end = start.Add(time.Duration(e.Time * float64(time.Millisecond)))
		} else {
			r.end = start
		}
		r.path = e.Request.URL[len(u.Scheme)+3+len(u.Host):]
		if i := strings.IndexByte(r.path, '#'); i >= 0 {
			r.path = r.path[:i]
		}
		if at := strings.IndexByte(r.path, '@'); at >= 0 && (u.User != nil) {
			r.path = u.RequestURI() // credentials in the URL: keep only path and query
		}
		if r.path == "" || r.path[0] != '/' {
			r.path = "/" + strings.TrimPrefix(r.path, "/")
		}
		if r.status == 304 {
			r.status = 200 // asked again without its validators
		}
		for _, h := range e.Request.Headers {
			lname := strings.ToLower(h.Name)
			if strings.HasPrefix(h.Name, ":") || strings.TrimSpace(h.Name) == "" {
				continue
			}
			if why, drop := dropHeaders[lname]; drop {
				switch why {
				case "cookies":
					im.cookies = true
				case "encoding":
					im.encoded = true
				}
				continue
			}
			r.headers = importer.SetHeader(r.headers, h.Name, h.Value)
		}
		if pd := e.Request.PostData; pd != nil {
			r.body = pd.Text
			if r.body == "" && len(pd.Params) > 0 {
				form := make([]string, len(pd.Params))
				for k, p := range pd.Params {
					form[k] = url.QueryEscape(p.Name) + "=" + url.QueryEscape(p.Value)
				}
				r.body = strings.Join(form, "&")
			}
			if len(r.body) > maxBody {
				return fmt.Errorf("%s.request.postData: the body is larger than 8 MiB, the most a plan step may send", at)
			}
			if r.body != "" && header(e.Request.Headers, "Content-Type") == "" && pd.MimeType != "" {
				r.headers = importer.SetHeader(r.headers, "Content-Type", pd.MimeType)
			}
		}
		if r.body != "" && r.method == "GET" {
			r.notes = append(r.notes, "The browser sent a body with GET; the plan sends it too.")
		}
		if len(r.headers) > 100 {
			return fmt.Errorf("%s.request.headers: %d headers, more than the 100 a step may send", at, len(r.headers))
		}
		c := e.Response.Content
		body := c.Text
		if c.Encoding == "base64" {
			if b, err := base64.StdEncoding.DecodeString(c.Text); err == nil {
				body = string(b)
			} else {
				body = ""
			}
		}
		if len(body) > maxScan {
			body = body[:maxScan]
		}
		r.respBody = body
		r.respJSON = looksJSON(c.MimeType, body) && gjson.Valid(body)
		r.respHTML = !r.respJSON && (strings.Contains(strings.ToLower(c.MimeType), "html") || strings.HasPrefix(strings.TrimSpace(body), "<"))
		im.reqs = append(im.reqs, r)
	}
	sort.SliceStable(im.reqs, func(a, b int) bool { return im.reqs[a].start.Before(im.reqs[b].start) })
	return nil
}

func looksJSON(mimeType, body string) bool {
	mt, _, _ := mime.ParseMediaType(mimeType)
	if mt == "application/json" || strings.HasSuffix(mt, "+json") {
		return true
	}
	b := strings.TrimSpace(body)
	return strings.HasPrefix(b, "{") || strings.HasPrefix(b, "[")
}

func header(hs []nv, name string) string {
	for _, h := range hs {
		if strings.EqualFold(h.Name, name) {
			return h.Value
		}
	}
	return ""
}

func (im *importing) plan() *importer.Plan {
	origins := map[string]int{}
	for _, r := range im.reqs {
		origins[r.origin]++
	}
	base := ""
	for _, o := range slices.Sorted(maps.Keys(origins)) {
		if base == "" || origins[o] > origins[base] {
			base = o
		}
	}
	p := &importer.Plan{
		Header: []string{
			fmt.Sprintf("Imported from the recorded session %s by `stampede import har`.", path.Base(im.name)),
			fmt.Sprintf("%d requests kept; %s.", len(im.reqs), im.droppedText()),
			"Values the server generated and the browser sent back are extracted from",
			"the responses ({{ variable }}); every other value is replayed as recorded.",
		},
		BaseURL: base,
	}
	if im.cookies {
		p.Header = append(p.Header, "Decide: the browser sent cookies, which the plan does not replay (a plan has no",
			"cookie jar yet); a session kept in a cookie must be passed in a header instead.")
	}
	if im.truncated {
		p.Header = append(p.Header, fmt.Sprintf("Decide: the responses held more than %d values; correlations were looked for among the first ones only.", maxIndexed))
	}
	if im.encoded {
		p.Header = append(p.Header, "Accept-Encoding was left out: the plan reads responses uncompressed.")
	}
	// Headers every request sent alike go to the target.
	if len(im.reqs) > 1 {
		for _, h := range im.reqs[0].headers {
			common := true
			for _, r := range im.reqs[1:] {
				if v, ok := importer.Header(r.headers, h.Key); !ok || v != h.Value {
					common = false
					break
				}
			}
			if common && !strings.Contains(h.Value, "{{") {
				p.Headers = append(p.Headers, importer.KV{Key: h.Key, Value: importer.Literal(h.Value)})
			}
		}
		if len(p.Headers) > 0 {
			p.HeadersComment = []string{"Sent alike by every recorded request."}
		}
	}
	title := "Recorded session"
	if len(im.reqs) > 0 {
		if pg, ok := im.pages[im.reqs[0].pageref]; ok && strings.TrimSpace(pg.Title) != "" {
			title = pg.Title
		}
	}
	sc := &importer.Scenario{Name: importer.ScenarioName(title), Weight: 1}
	names := map[string]bool{}
	lastPage := "\x00"
	pageNo := 0
	for i, r := range im.reqs {
		// Named by its path, references shown as {name}.
		pathOnly, _, _ := strings.Cut(r.path, "?")
		name := r.method + " " + strings.NewReplacer("{{ ", "{", " }}", "}").Replace(pathOnly)
		st := &importer.Step{Name: importer.UniqueName(names, name), Method: r.method, Headers: []importer.KV{}, Status: []int{r.status}}
		if r.pageref != lastPage {
			lastPage = r.pageref
			pageNo++
			what := r.pageref
			if pg, ok := im.pages[r.pageref]; ok && pg.Title != "" {
				what = pg.Title
			}
			if what != "" {
				st.Comment = append(st.Comment, fmt.Sprintf("── page %d: %s", pageNo, what))
			}
		}
		st.Comment = append(st.Comment, r.notes...)
		st.Path = r.path
		if r.origin != base {
			st.Path = r.origin + r.path
		}
		for _, h := range r.headers {
			if _, ok := importer.Header(p.Headers, h.Key); ok {
				continue
			}
			st.Headers = append(st.Headers, h)
		}
		st.Body = r.body
		st.Extract = r.extract
		if i+1 < len(im.reqs) {
			gap := im.reqs[i+1].start.Sub(r.end)
			if gap >= minThink {
				st.Think = min(gap.Round(10*time.Millisecond), maxThink)
			}
		}
		sc.Steps = append(sc.Steps, st)
	}
	p.Name = sc.Name
	p.Scenarios = []*importer.Scenario{sc}
	return p
}
