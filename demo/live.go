package demo

import (
	"context"
	"encoding/json"
	"net/http"
	"sync"
	"time"

	"github.com/coder/websocket"
)

// Live stock updates over WebSocket:
//
//	GET /ws/stock   (upgrade) client → {"subscribe": id} | {"ping": any}
//	                server → {"type": "stock", "product_id", "stock", "seq"} at once on
//	                subscribe, then every StockInterval for every subscribed product;
//	                {"type": "pong", "ping"}; {"type": "error", "error"}
//
// A connection may subscribe to at most maxSubscriptions products. The
// shop's Close ends every feed (a going-away close), since a hijacked
// connection outlives the HTTP server's shutdown.

// StockInterval is how often a feed pushes the stock of what it follows.
const StockInterval = 200 * time.Millisecond

const maxSubscriptions = 20

// liveFeeds tracks the open feeds so that Close can end them.
type liveFeeds struct {
	mu     sync.Mutex // guards conns and closed
	conns  map[*websocket.Conn]struct{}
	closed bool
	wg     sync.WaitGroup
}

func (l *liveFeeds) add(c *websocket.Conn) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return false
	}
	if l.conns == nil {
		l.conns = map[*websocket.Conn]struct{}{}
	}
	l.conns[c] = struct{}{}
	l.wg.Add(1)
	return true
}

func (l *liveFeeds) remove(c *websocket.Conn) {
	l.mu.Lock()
	delete(l.conns, c)
	l.mu.Unlock()
	l.wg.Done()
}

// close ends every feed and waits for their handlers.
func (l *liveFeeds) close() {
	l.mu.Lock()
	l.closed = true
	conns := make([]*websocket.Conn, 0, len(l.conns))
	for c := range l.conns {
		conns = append(conns, c)
	}
	l.mu.Unlock()
	for _, c := range conns {
		c.CloseNow()
	}
	l.wg.Wait()
}

type stockUpdate struct {
	Type      string `json:"type"`
	ProductID int64  `json:"product_id,omitempty"`
	Stock     int64  `json:"stock"`
	Seq       int64  `json:"seq"`
}

// stockFeed serves GET /ws/stock.
func (s *Shop) stockFeed(w http.ResponseWriter, r *http.Request) {
	c, err := websocket.Accept(w, r, &websocket.AcceptOptions{Subprotocols: []string{"stock.v1"}})
	if err != nil {
		return // Accept answered the request
	}
	if !s.live.add(c) {
		c.Close(websocket.StatusGoingAway, "shop closing")
		return
	}
	defer s.live.remove(c)
	c.SetReadLimit(4 << 10)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	in := make(chan map[string]json.RawMessage)
	go func() { // reads until the connection ends
		defer cancel()
		for {
			_, b, err := c.Read(ctx)
			if err != nil {
				return
			}
			var m map[string]json.RawMessage
			if json.Unmarshal(b, &m) != nil {
				m = map[string]json.RawMessage{}
			}
			select {
			case in <- m:
			case <-ctx.Done():
				return
			}
		}
	}()
	var subs []int64
	var seq int64
	tick := time.NewTicker(StockInterval)
	defer tick.Stop()
	send := func(v any) bool {
		b, _ := json.Marshal(v)
		wctx, wcancel := context.WithTimeout(ctx, 5*time.Second)
		defer wcancel()
		return c.Write(wctx, websocket.MessageText, b) == nil
	}
	push := func(id int64) bool {
		var p product
		err := s.st.product.QueryRowContext(ctx, id).Scan(&p.ID, &p.Name, &p.PriceCents, &p.Stock)
		if err != nil {
			return send(map[string]string{"type": "error", "error": "no such product"})
		}
		seq++
		return send(stockUpdate{Type: "stock", ProductID: id, Stock: p.Stock, Seq: seq})
	}
	for {
		select {
		case <-ctx.Done():
			c.Close(websocket.StatusNormalClosure, "")
			return
		case m := <-in:
			var id int64
			switch {
			case m["subscribe"] != nil && json.Unmarshal(m["subscribe"], &id) == nil:
				if len(subs) >= maxSubscriptions {
					if !send(map[string]string{"type": "error", "error": "too many subscriptions"}) {
						return
					}
					continue
				}
				subs = append(subs, id)
				if !push(id) {
					return
				}
			case m["ping"] != nil:
				if !send(map[string]any{"type": "pong", "ping": m["ping"]}) {
					return
				}
			default:
				if !send(map[string]string{"type": "error", "error": `send {"subscribe": id} or {"ping": …}`}) {
					return
				}
			}
		case <-tick.C:
			for _, id := range subs {
				if !push(id) {
					return
				}
			}
		}
	}
}
