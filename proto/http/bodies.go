package http

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"io"
	"maps"
	"mime/multipart"
	"net/textproto"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/valyala/fasthttp"

	"github.com/stampede-perf/stampede/plan"
	"github.com/stampede-perf/stampede/tmpl"
)

// FieldError is a compile problem of one field of a step ("body_file",
// "multipart.files.avatar.path"), so the plan can point at its line.
type FieldError struct {
	Field string
	Err   error
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Err.Error() }
func (e *FieldError) Unwrap() error { return e.Err }

// bodies are a step's form, multipart and file bodies and its
// authentication; they are written into the request after its headers.
type bodies struct {
	form []queryParam
	// raw is sent as it is: a body_file, or a multipart body without
	// templates, built once.
	raw []byte
	mp  *multipartBody // a multipart body with templated fields
	// Authorization: Basic user:pass, or Bearer token.
	user, pass, bearer *tmpl.Template
}

type multipartBody struct {
	boundary string
	fields   []queryParam
	files    []filePart
}

type filePart struct {
	header textproto.MIMEHeader
	data   []byte
}

var quoteEscaper = strings.NewReplacer("\\", "\\\\", `"`, "\\\"")

func (b *bodies) compile(t plan.Target, s *plan.Step, c *tmpl.Compiler, hdrs map[string]string) error {
	contentType := func(v string) {
		if !hasHeader(hdrs, "Content-Type") {
			hdrs["Content-Type"] = v
		}
	}
	for _, k := range slices.Sorted(maps.Keys(s.Form)) {
		v, err := c.Compile(s.Form[k])
		if err != nil {
			return &FieldError{"form." + k, err}
		}
		b.form = append(b.form, queryParam{name: k, val: v})
	}
	if len(b.form) > 0 {
		contentType("application/x-www-form-urlencoded")
	}
	if s.BodyFile != "" {
		data, err := readBounded(s.BodyFile, plan.MaxRequestBody)
		if err != nil {
			return &FieldError{"body_file", err}
		}
		b.raw = data
	}
	if m := s.Multipart; m != nil {
		if err := b.multipart(m, c); err != nil {
			return err
		}
		contentType("multipart/form-data; boundary=" + b.mp.boundary)
		if b.static() {
			var buf bytes.Buffer
			b.mp.write(&buf, nil, nil)
			b.raw, b.mp = buf.Bytes(), nil
		}
	}
	a := s.Auth
	if a == nil {
		a = t.Auth
	}
	if a != nil && !hasHeader(hdrs, "Authorization") {
		var err error
		switch {
		case a.Basic != nil:
			if b.user, err = c.Compile(a.Basic.Username); err != nil {
				return &FieldError{"auth.basic.username", err}
			}
			if b.pass, err = c.Compile(a.Basic.Password); err != nil {
				return &FieldError{"auth.basic.password", err}
			}
		case a.Bearer != "":
			if b.bearer, err = c.Compile(a.Bearer); err != nil {
				return &FieldError{"auth.bearer", err}
			}
		}
	}
	return nil
}

func (b *bodies) multipart(m *plan.Multipart, c *tmpl.Compiler) error {
	mp := &multipartBody{boundary: multipart.NewWriter(io.Discard).Boundary()}
	size := 0
	for _, k := range slices.Sorted(maps.Keys(m.Fields)) {
		v, err := c.Compile(m.Fields[k])
		if err != nil {
			return &FieldError{"multipart.fields." + k, err}
		}
		mp.fields = append(mp.fields, queryParam{name: k, val: v})
		size += len(k) + len(m.Fields[k])
	}
	for _, k := range slices.Sorted(maps.Keys(m.Files)) {
		f := m.Files[k]
		data, err := readBounded(f.Path, plan.MaxRequestBody-size)
		if err != nil {
			return &FieldError{"multipart.files." + k + ".path", err}
		}
		size += len(data)
		name := f.Name
		if name == "" {
			name = filepath.Base(f.Path)
		}
		ct := f.ContentType
		if ct == "" {
			ct = "application/octet-stream"
		}
		h := textproto.MIMEHeader{}
		h.Set("Content-Disposition", fmt.Sprintf(`form-data; name="%s"; filename="%s"`, quoteEscaper.Replace(k), quoteEscaper.Replace(name)))
		h.Set("Content-Type", ct)
		mp.files = append(mp.files, filePart{header: h, data: data})
	}
	b.mp = mp
	return nil
}

// static reports a multipart body whose fields hold no template.
func (b *bodies) static() bool {
	for _, f := range b.mp.fields {
		if !f.val.Static() {
			return false
		}
	}
	return true
}

// write writes the multipart body; val is scratch space.
func (mp *multipartBody) write(w io.Writer, state *tmpl.State, val []byte) []byte {
	mw := multipart.NewWriter(w)
	mw.SetBoundary(mp.boundary) // a boundary made by multipart.Writer is valid
	for _, f := range mp.fields {
		val = f.val.Append(val[:0], state)
		mw.WriteField(f.name, string(val)) // writes into memory: no error
	}
	for _, f := range mp.files {
		pw, _ := mw.CreatePart(f.header)
		pw.Write(f.data)
	}
	mw.Close()
	return val
}

// readBounded reads a file of at most limit bytes.
func readBounded(path string, limit int) ([]byte, error) {
	f, err := os.Open(path)
	if pe, ok := err.(*os.PathError); ok {
		return nil, fmt.Errorf("cannot read %s: %w", path, pe.Err)
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, int64(limit)+1))
	if err != nil {
		return nil, fmt.Errorf("cannot read %s: %w", path, err)
	}
	if len(data) > limit {
		return nil, fmt.Errorf("%s is larger than %d MiB, the most a request body may be", path, plan.MaxRequestBody>>20)
	}
	return data, nil
}

// set writes the step's body and Authorization header into req.
func (b *bodies) set(c *Client, req *fasthttp.Request, state *tmpl.State) {
	switch {
	case len(b.form) > 0:
		c.scratch = c.scratch[:0]
		for i, f := range b.form {
			if i > 0 {
				c.scratch = append(c.scratch, '&')
			}
			c.scratch = appendEscaped(c.scratch, f.name)
			c.scratch = append(c.scratch, '=')
			c.val = f.val.Append(c.val[:0], state)
			c.scratch = appendEscaped(c.scratch, bytesString(c.val))
		}
		req.SetBody(c.scratch)
	case b.raw != nil:
		req.SetBody(b.raw)
	case b.mp != nil:
		c.mp.Reset()
		c.val = b.mp.write(&c.mp, state, c.val)
		req.SetBody(c.mp.Bytes())
	}
	switch {
	case b.user != nil:
		c.val = b.user.Append(c.val[:0], state)
		c.val = append(c.val, ':')
		c.val = b.pass.Append(c.val, state)
		c.scratch = append(c.scratch[:0], "Basic "...)
		c.scratch = base64.StdEncoding.AppendEncode(c.scratch, c.val)
		req.Header.SetBytesV("Authorization", c.scratch)
	case b.bearer != nil:
		c.scratch = append(c.scratch[:0], "Bearer "...)
		c.scratch = b.bearer.Append(c.scratch, state)
		req.Header.SetBytesV("Authorization", c.scratch)
	}
}

// vars lists the variables the bodies' templates read.
func (b *bodies) vars() []string {
	var out []string
	for _, t := range []*tmpl.Template{b.user, b.pass, b.bearer} {
		if t != nil {
			out = append(out, t.Vars()...)
		}
	}
	for _, f := range b.form {
		out = append(out, f.val.Vars()...)
	}
	if b.mp != nil {
		for _, f := range b.mp.fields {
			out = append(out, f.val.Vars()...)
		}
	}
	return out
}
