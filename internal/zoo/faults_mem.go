package zoo

import (
	"bytes"
	"hash/crc32"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// This file plants memory faults: a heap leak and a goroutine leak.

// --- heap-leak: sessions nobody expires ---

// snapshotBytes is what rememberSession keeps per login.
const snapshotBytes = 16 << 10

type sessionStore struct {
	mu   sync.Mutex // guards byID and next
	byID map[string]*session
	next int
}

type session struct {
	user     int
	created  time.Time
	snapshot []byte
}

func buildSessions(s *setup) error {
	st := &sessionStore{byID: map[string]*session{}}
	s.handle("POST /login", st.loginHandler)
	return nil
}

func (st *sessionStore) loginHandler(w http.ResponseWriter, r *http.Request) {
	user := query(r, "user", 1)
	id := st.rememberSession(user, r)
	page := renderWelcome(user, id, 64<<10)
	writeJSON(w, http.StatusOK, map[string]any{"session": id, "user": user, "welcome_crc": crc32.ChecksumIEEE(page)})
}

// renderWelcome renders a welcome page of size bytes: about twice that
// allocated as the page grows, garbage once the request ends. For a login
// (64 KiB) the collector runs every second or two, as in any service that
// does some work per request.
func renderWelcome(user int, session string, size int) []byte {
	line := "<li>welcome back, user " + strconv.Itoa(user) + " (session " + session + ")</li>\n"
	var b bytes.Buffer
	for b.Len() < size {
		b.WriteString(line)
	}
	return b.Bytes()
}

// rememberSession is the planted leak: every login creates a session with
// a 16 KiB snapshot of the request for debugging, kept in a map that
// nothing ever expires. Under steady load the live heap grows by the
// login rate times 16 KiB.
func (st *sessionStore) rememberSession(user int, r *http.Request) string {
	snap := make([]byte, 0, snapshotBytes)
	snap = append(snap, r.Method+" "+r.URL.RequestURI()...)
	for k, vs := range r.Header {
		for _, v := range vs {
			snap = append(snap, "\n"+k+": "+v...)
		}
	}
	// Written to the end, so it is resident, as a real buffer would be.
	for n := len(snap); len(snap) < snapshotBytes && n > 0; {
		snap = append(snap, snap[:min(n, snapshotBytes-len(snap))]...)
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	st.next++
	id := strconv.Itoa(user) + "-" + strconv.Itoa(st.next)
	st.byID[id] = &session{user: user, created: time.Now(), snapshot: snap}
	return id
}

// --- goroutine-leak: subscribers nobody unsubscribes ---

type hub struct {
	mu     sync.Mutex // guards topics
	topics map[string]int
}

type subscription struct {
	topic   string
	updates chan []byte
	buf     []byte // the subscriber's read buffer
}

func buildHub(s *setup) error {
	h := &hub{topics: map[string]int{}}
	s.handle("GET /subscribe", h.subscribeHandler)
	return nil
}

func (h *hub) subscribeHandler(w http.ResponseWriter, r *http.Request) {
	topic := "topic-" + strconv.Itoa(query(r, "topic", 1))
	n := h.subscribe(topic)
	page := renderWelcome(n, topic, 8<<10) // the topic's current page, garbage after the request
	writeJSON(w, http.StatusOK, map[string]any{"topic": topic, "subscribers": n, "page_crc": crc32.ChecksumIEEE(page)})
}

// subscribe registers interest in a topic and starts a goroutine to wait
// for its updates. Nothing ever publishes to or closes the channel, and
// the request returns without cancelling: the goroutine waits forever.
func (h *hub) subscribe(topic string) int {
	sub := &subscription{topic: topic, updates: make(chan []byte)}
	go h.waitForUpdates(sub)
	h.mu.Lock()
	defer h.mu.Unlock()
	h.topics[topic]++
	return h.topics[topic]
}

// waitForUpdates is the planted goroutine leak: one goroutine per
// subscription, each holding a 4 KiB buffer, blocked on a channel no one
// will ever send on.
func (h *hub) waitForUpdates(sub *subscription) {
	sub.buf = make([]byte, 4<<10)
	for i := range sub.buf {
		sub.buf[i] = byte(i)
	}
	for u := range sub.updates {
		copy(sub.buf, u)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.topics[sub.topic]--
}
