package http

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"time"

	"github.com/valyala/fasthttp"
	"golang.org/x/net/http/httpguts"
	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// h2conn is a client HTTP/2 connection of our own, on x/net/http2's
// Framer and hpack, for one stream at a time driven by the goroutine that
// sends the request: it writes the HEADERS (and DATA) frames itself and
// reads frames itself until its stream ends, answering SETTINGS and PING,
// keeping the flow-control windows both ways and noting GOAWAY on the
// way. There is no read-loop goroutine, no lock and no channel, which is
// most of what x/net/http2's ClientConn costs per request.
//
// Its header blocks use HPACK's static table and literals only (the
// encoder's dynamic table is 0 bytes): a block then does not depend on
// what was sent before, so a request whose fields are the last one's
// sends the same bytes again without encoding them.
//
// Not safe for concurrent use; a parallel group's streams, which are
// concurrent, go through ClientConn instead (see sendH2).
type h2conn struct {
	conn net.Conn
	bw   *bufio.Writer
	br   *bufio.Reader
	fr   *http2.Framer
	enc  *hpack.Encoder
	dec  *hpack.Decoder
	hd   h2block      // the header block being read
	hb   bytes.Buffer // the header block of the last request
	// sig is the last request's pseudo-header and header fields, each
	// followed by a 0 byte; hb holds their block while next is equal.
	sig, next []byte
	lower     []byte // a header name in lower case

	nextID uint32 // the next stream's ID

	// The server's settings.
	maxFrame   uint32 // SETTINGS_MAX_FRAME_SIZE
	peerWindow int64  // SETTINGS_INITIAL_WINDOW_SIZE
	maxStreams uint32 // SETTINGS_MAX_CONCURRENT_STREAMS

	sendWin int64 // the connection's send window
	recvWin int64 // the connection's receive window left

	goAway     bool // the server sent GOAWAY
	goAwayCode http2.ErrCode
	lastStream uint32
	broken     bool // an error left the connection in an unknown state

	s h2stream // the stream in flight
}

// h2stream is the state of the stream in flight and where its response
// goes.
type h2stream struct {
	id       uint32
	sendWin  int64 // the stream's send window
	recvWin  int64 // the stream's receive window left
	headers  bool  // the final response headers are in
	ended    bool  // the server ended the stream
	sentAll  bool  // the request is all sent
	status   int
	headerAt time.Time
	body     int64 // DATA bytes received
	sink     *h2sink
}

// h2block is a header block being read from the server. The decoder
// hands its fields to emit as they come: of the final response's, those
// something reads go straight into the response; the others' are only
// decoded (HPACK's state is the connection's) and counted.
type h2block struct {
	mine       bool // the block is the stream in flight's
	trailers   bool // it follows the response's headers
	endStream  bool
	final      bool // it is the final response's headers
	sawStatus  bool
	sawRegular bool
	truncated  bool // its fields exceed h2MaxHeaderList
	status     int
	size       uint32
	invalid    error
}

// h2sink says what of a response to keep, and where.
type h2sink struct {
	resp       *fasthttp.Response
	allHeaders bool // every header field (a step with extractors)
	cookies    bool // Set-Cookie, for the jar
	keepBody   bool // the body, up to maxBody bytes
	maxBody    int
}

// The windows and limits we announce.
const (
	h2StreamWindow  = 256 << 10 // each stream's receive window
	h2ConnWindow    = 16 << 20  // the connection's receive window
	h2MaxHeaderList = 1 << 20   // the largest response header list accepted
	h2MaxFrame      = 16384     // the largest frame accepted (the protocol's default)
	h2MaxStreamID   = 1<<31 - 1
	h2MaxWindow     = 1<<31 - 1
)

// errH2Unprocessed is a request the server did not process: it was refused
// or arrived after the server's GOAWAY. It may be sent again on another
// connection whatever its method.
var errH2Unprocessed = errors.New("the server did not process the HTTP/2 request (GOAWAY or REFUSED_STREAM): the connection was closing")

// errH2HeaderList is a response whose header fields exceed h2MaxHeaderList.
var errH2HeaderList = fmt.Errorf("http2: the response's header fields are larger than %d KiB", h2MaxHeaderList>>10)

// newH2Conn starts HTTP/2 on conn: the client preface, our settings and
// the connection window go out with the first request.
func newH2Conn(conn net.Conn) *h2conn {
	h := &h2conn{
		conn:       conn,
		bw:         bufio.NewWriterSize(conn, 4096),
		br:         bufio.NewReaderSize(conn, 4096),
		nextID:     1,
		maxFrame:   16384,
		peerWindow: 65535,
		maxStreams: ^uint32(0),
		sendWin:    65535,
		recvWin:    h2ConnWindow,
	}
	h.fr = http2.NewFramer(h.bw, h.br)
	h.fr.SetMaxReadFrameSize(h2MaxFrame)
	h.dec = hpack.NewDecoder(4096, h.emit)
	h.dec.SetMaxStringLength(h2MaxHeaderList)
	h.fr.SetReuseFrames()
	h.enc = hpack.NewEncoder(&h.hb)
	h.enc.SetMaxDynamicTableSizeLimit(0)
	h.enc.WriteField(hpack.HeaderField{Name: ":method", Value: "GET"}) // carries the table size update
	h.hb.Reset()
	h.bw.WriteString(http2.ClientPreface)
	h.fr.WriteSettings(
		http2.Setting{ID: http2.SettingEnablePush, Val: 0},
		http2.Setting{ID: http2.SettingInitialWindowSize, Val: h2StreamWindow},
		http2.Setting{ID: http2.SettingMaxHeaderListSize, Val: h2MaxHeaderList},
		http2.Setting{ID: http2.SettingHeaderTableSize, Val: 4096},
	)
	h.fr.WriteWindowUpdate(0, h2ConnWindow-65535)
	return h
}

// usable reports whether a new request may go on h.
func (h *h2conn) usable() bool {
	return !h.broken && !h.goAway && h.nextID < h2MaxStreamID && h.maxStreams > 0
}

// Close closes the connection.
func (h *h2conn) Close() error { return h.conn.Close() }

// encode makes the request's header block in h.hb unless its fields are
// the last request's.
func (h *h2conn) encode(method, scheme, authority string, path []byte, req *fasthttp.Request, bodyLen int) error {
	n := h.next[:0]
	n = append(append(n, method...), 0)
	n = append(append(n, scheme...), 0)
	n = append(append(n, authority...), 0)
	n = append(append(n, path...), 0)
	for k, v := range req.Header.All() {
		if skipH2Header(k) {
			continue
		}
		n = append(append(append(append(n, k...), 0), v...), 0)
	}
	if bodyLen > 0 {
		n = strconv.AppendInt(n, int64(bodyLen), 10)
	}
	h.next = n
	if h.hb.Len() > 0 && bytes.Equal(h.sig, h.next) {
		return nil
	}
	h.hb.Reset()
	h.sig = h.sig[:0]
	for _, f := range [...][2]string{{":method", method}, {":scheme", scheme}, {":authority", authority}, {":path", bytesString(path)}} {
		if !httpguts.ValidHeaderFieldValue(f[1]) || f[1] == "" {
			h.hb.Reset()
			return fmt.Errorf("http2: invalid request %s %q", f[0], f[1])
		}
		h.enc.WriteField(hpack.HeaderField{Name: f[0], Value: f[1]})
	}
	for k, v := range req.Header.All() {
		if skipH2Header(k) || dropH2Header(k) {
			continue
		}
		if !httpguts.ValidHeaderFieldName(bytesString(k)) || !httpguts.ValidHeaderFieldValue(bytesString(v)) {
			h.hb.Reset()
			return fmt.Errorf("http2: invalid request header field %q", k)
		}
		h.lower = append(h.lower[:0], k...)
		for i, b := range h.lower {
			if 'A' <= b && b <= 'Z' {
				h.lower[i] = b + 'a' - 'A'
			}
		}
		h.enc.WriteField(hpack.HeaderField{Name: bytesString(h.lower), Value: bytesString(v)})
	}
	if bodyLen > 0 {
		h.enc.WriteField(hpack.HeaderField{Name: "content-length", Value: strconv.Itoa(bodyLen)})
	}
	h.sig, h.next = h.next, h.sig
	return nil
}

// dropH2Header reports a connection-specific header field, which HTTP/2
// forbids and x/net/http2 leaves out too.
func dropH2Header(k []byte) bool {
	switch string(k) {
	case "Keep-Alive", "Proxy-Connection", "Upgrade", "Te":
		return true
	}
	return false
}

// roundTrip sends the request whose header block encode made, with body,
// and reads its response into sink. The caller sets the connection's
// deadline. An error leaves h unusable but for a response the server
// sent whole.
func (h *h2conn) roundTrip(body []byte, sink *h2sink) (err error) {
	if !h.usable() {
		return errH2Unprocessed
	}
	s := &h.s
	*s = h2stream{id: h.nextID, sendWin: h.peerWindow, recvWin: h2StreamWindow, sink: sink}
	h.nextID += 2
	defer func() {
		if err != nil {
			h.broken = true
		}
	}()
	block := h.hb.Bytes()
	first := true
	for first || len(block) > 0 {
		frag := block[:min(len(block), int(h.maxFrame))]
		block = block[len(frag):]
		if first {
			err = h.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: s.id, BlockFragment: frag,
				EndStream: len(body) == 0, EndHeaders: len(block) == 0})
			first = false
		} else {
			err = h.fr.WriteContinuation(s.id, len(block) == 0, frag)
		}
		if err != nil {
			return err
		}
	}
	s.sentAll = len(body) == 0
	for !s.sentAll {
		if s.ended { // answered before the request was all sent: stop sending (RFC 9113, 8.1)
			if err := h.fr.WriteRSTStream(s.id, http2.ErrCodeNo); err != nil {
				return err
			}
			break
		}
		n := min(int64(len(body)), int64(h.maxFrame), h.sendWin, s.sendWin)
		if n <= 0 { // wait for the server to open its windows
			if err := h.readFrame(); err != nil {
				return err
			}
			continue
		}
		s.sentAll = n == int64(len(body))
		if err := h.fr.WriteData(s.id, s.sentAll, body[:n]); err != nil {
			return err
		}
		body = body[n:]
		h.sendWin -= n
		s.sendWin -= n
	}
	for !s.ended {
		if err := h.readFrame(); err != nil {
			return err
		}
	}
	if h.bw.Buffered() > 0 { // acknowledgements and window updates
		return h.bw.Flush()
	}
	return nil
}

// readFrame reads and handles one frame, flushing what was written
// first.
func (h *h2conn) readFrame() error {
	if h.bw.Buffered() > 0 {
		if err := h.bw.Flush(); err != nil {
			return err
		}
	}
	f, err := h.fr.ReadFrame()
	if err != nil {
		var ce http2.ConnectionError
		if errors.As(err, &ce) {
			h.fail(http2.ErrCode(ce))
			return err
		}
		var se http2.StreamError
		if errors.As(err, &se) {
			if se.StreamID == h.s.id {
				return err
			}
			h.fail(se.Code)
			return err
		}
		if errors.Is(err, http2.ErrFrameTooLarge) {
			h.fail(http2.ErrCodeFrameSize)
		}
		if h.goAway && h.goAwayCode != http2.ErrCodeNo {
			return http2.GoAwayError{LastStreamID: h.lastStream, ErrCode: h.goAwayCode}
		}
		if errors.Is(err, io.EOF) {
			return io.ErrUnexpectedEOF
		}
		return err
	}
	s := &h.s
	switch f := f.(type) {
	case *http2.HeadersFrame:
		if f.StreamID > s.id {
			return h.fail(http2.ErrCodeProtocol)
		}
		mine := f.StreamID == s.id && !s.ended
		h.hd = h2block{mine: mine, trailers: mine && s.headers, endStream: f.StreamEnded()}
		return h.fragment(f.HeaderBlockFragment(), f.HeadersEnded())
	case *http2.ContinuationFrame: // the Framer checks it follows its HEADERS
		return h.fragment(f.HeaderBlockFragment(), f.HeadersEnded())
	case *http2.DataFrame:
		return h.data(f)
	case *http2.SettingsFrame:
		if f.IsAck() {
			return nil
		}
		if err := f.ForeachSetting(h.setting); err != nil {
			return err
		}
		return h.fr.WriteSettingsAck()
	case *http2.WindowUpdateFrame:
		inc := int64(f.Increment)
		switch f.StreamID {
		case 0:
			if h.sendWin += inc; h.sendWin > h2MaxWindow {
				return h.fail(http2.ErrCodeFlowControl)
			}
		case s.id:
			if s.sendWin += inc; s.sendWin > h2MaxWindow {
				return h.fail(http2.ErrCodeFlowControl)
			}
		}
		return nil
	case *http2.PingFrame:
		if f.IsAck() {
			return nil
		}
		return h.fr.WritePing(true, f.Data)
	case *http2.GoAwayFrame:
		if !h.goAway || f.LastStreamID < h.lastStream {
			h.lastStream = f.LastStreamID
		}
		h.goAway, h.goAwayCode = true, f.ErrCode
		if s.id > h.lastStream && !s.ended {
			return errH2Unprocessed
		}
		return nil
	case *http2.RSTStreamFrame:
		if f.StreamID != s.id {
			return nil
		}
		if f.ErrCode == http2.ErrCodeRefusedStream && !s.headers {
			return errH2Unprocessed
		}
		if f.ErrCode == http2.ErrCodeNo && s.ended {
			return nil
		}
		return http2.StreamError{StreamID: f.StreamID, Code: f.ErrCode}
	case *http2.PushPromiseFrame: // we said SETTINGS_ENABLE_PUSH 0
		return h.fail(http2.ErrCodeProtocol)
	}
	return nil // PRIORITY and unknown frames
}

// fail sends GOAWAY with code, for a connection error of the server's,
// and returns the error.
func (h *h2conn) fail(code http2.ErrCode) error {
	h.broken = true
	h.fr.WriteGoAway(0, code, nil)
	h.bw.Flush()
	return http2.ConnectionError(code)
}

// setting applies one of the server's settings.
func (h *h2conn) setting(st http2.Setting) error {
	if err := st.Valid(); err != nil {
		h.fail(http2.ErrCodeProtocol)
		return err
	}
	switch st.ID {
	case http2.SettingMaxFrameSize:
		h.maxFrame = st.Val
	case http2.SettingInitialWindowSize:
		// The stream in flight's window moves by the change (RFC 9113, 6.9.2).
		delta := int64(st.Val) - h.peerWindow
		h.peerWindow = int64(st.Val)
		if h.s.sendWin += delta; h.s.sendWin > h2MaxWindow {
			return h.fail(http2.ErrCodeFlowControl)
		}
	case http2.SettingMaxConcurrentStreams:
		h.maxStreams = st.Val
	}
	return nil
}

// fragment decodes a piece of a header block; end is its last.
func (h *h2conn) fragment(b []byte, end bool) error {
	if h.hd.truncated && len(b) > 0 { // no more of a block already too large
		return h.fail(http2.ErrCodeProtocol)
	}
	if _, err := h.dec.Write(b); err != nil {
		return h.fail(http2.ErrCodeCompression)
	}
	if !end {
		return nil
	}
	if err := h.dec.Close(); err != nil {
		return h.fail(http2.ErrCodeCompression)
	}
	return h.headers()
}

// emit takes one decoded header field.
func (h *h2conn) emit(hf hpack.HeaderField) {
	hd := &h.hd
	if hd.truncated {
		return
	}
	if hd.size += hf.Size(); hd.size > h2MaxHeaderList {
		hd.truncated = true
		return
	}
	if !hd.mine || hd.invalid != nil {
		return
	}
	if len(hf.Name) > 0 && hf.Name[0] == ':' {
		if hd.sawRegular || hd.sawStatus || hd.trailers || hf.Name != ":status" {
			hd.invalid = fmt.Errorf("unexpected pseudo-header %q", hf.Name)
			return
		}
		status, err := strconv.Atoi(hf.Value)
		if err != nil || len(hf.Value) != 3 || status < 100 {
			hd.invalid = fmt.Errorf("bad :status %q", hf.Value)
			return
		}
		hd.sawStatus, hd.status = true, status
		if status >= 200 {
			hd.final = true
			resp := h.s.sink.resp
			resp.Reset()
			resp.SetStatusCode(status)
		}
		return
	}
	hd.sawRegular = true
	if !hd.final {
		return
	}
	sk := h.s.sink
	keep := sk.allHeaders || sk.cookies && hf.Name == "set-cookie" || hf.Name == "location" && isRedirect(hd.status)
	if !keep {
		return
	}
	if !httpguts.ValidHeaderFieldName(hf.Name) || !httpguts.ValidHeaderFieldValue(hf.Value) {
		hd.invalid = fmt.Errorf("invalid header field %q", hf.Name)
		return
	}
	switch {
	case sk.allHeaders:
		sk.resp.Header.Add(hf.Name, hf.Value)
	case hf.Name == "set-cookie":
		sk.resp.Header.Add("Set-Cookie", hf.Value)
	default:
		sk.resp.Header.Set("Location", hf.Value)
	}
}

// headers ends a header block: the response's headers (or an interim
// response's), or its trailers.
func (h *h2conn) headers() error {
	s, hd := &h.s, &h.hd
	if !hd.mine {
		return nil // a stream we gave up
	}
	if hd.truncated {
		h.fr.WriteRSTStream(s.id, http2.ErrCodeCancel)
		return errH2HeaderList
	}
	if hd.invalid != nil {
		return http2.StreamError{StreamID: s.id, Code: http2.ErrCodeProtocol, Cause: hd.invalid}
	}
	if hd.trailers {
		if !hd.endStream {
			return http2.StreamError{StreamID: s.id, Code: http2.ErrCodeProtocol, Cause: errors.New("trailers without END_STREAM")}
		}
		s.ended = true
		return nil
	}
	if !hd.sawStatus {
		return http2.StreamError{StreamID: s.id, Code: http2.ErrCodeProtocol, Cause: errors.New("a response without :status")}
	}
	if !hd.final { // an interim response (100 Continue, 103 Early Hints)
		if hd.endStream || hd.status == 101 {
			return http2.StreamError{StreamID: s.id, Code: http2.ErrCodeProtocol, Cause: fmt.Errorf("interim status %d ends the stream", hd.status)}
		}
		return nil
	}
	s.headers, s.status, s.headerAt = true, hd.status, time.Now()
	s.ended = hd.endStream
	return nil
}

// data takes a DATA frame: the response's body, counted against the
// windows, which are opened again as the body is read.
func (h *h2conn) data(f *http2.DataFrame) error {
	s := &h.s
	n := int64(f.Length)
	if h.recvWin -= n; h.recvWin < 0 {
		return h.fail(http2.ErrCodeFlowControl)
	}
	if h.recvWin < h2ConnWindow/2 {
		if err := h.fr.WriteWindowUpdate(0, uint32(h2ConnWindow-h.recvWin)); err != nil {
			return err
		}
		h.recvWin = h2ConnWindow
	}
	if f.StreamID != s.id || s.ended {
		if f.StreamID >= s.id {
			return h.fail(http2.ErrCodeProtocol)
		}
		return nil // a stream we gave up
	}
	if !s.headers {
		return http2.StreamError{StreamID: s.id, Code: http2.ErrCodeProtocol, Cause: errors.New("DATA before the response's headers")}
	}
	if s.recvWin -= n; s.recvWin < 0 {
		return h.fail(http2.ErrCodeFlowControl)
	}
	b := f.Data()
	s.body += int64(len(b))
	if sk := s.sink; sk.keepBody {
		if s.body > int64(sk.maxBody) {
			h.fr.WriteRSTStream(s.id, http2.ErrCodeCancel)
			return fasthttp.ErrBodyTooLarge
		}
		sk.resp.AppendBody(b)
	}
	if f.StreamEnded() {
		s.ended = true
		return nil
	}
	if s.recvWin < h2StreamWindow/2 {
		if err := h.fr.WriteWindowUpdate(s.id, uint32(h2StreamWindow-s.recvWin)); err != nil {
			return err
		}
		s.recvWin = h2StreamWindow
	}
	return nil
}
