package demo

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// A feed pushes the stock it follows, and closing the server ends the
// feeds it has, which a hijacked connection would otherwise outlive.
func TestStockFeedEndsWithTheShop(t *testing.T) {
	srv, err := Start(t.Context(), "127.0.0.1:0", Options{Products: 5, Users: 5})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL(), "http")+"/ws/stock", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	if err := c.Write(ctx, websocket.MessageText, []byte(`{"subscribe": 2}`)); err != nil {
		t.Fatal(err)
	}
	var seqs []int64
	for len(seqs) < 2 { // the answer, then a push
		_, b, err := c.Read(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var u stockUpdate
		if err := json.Unmarshal(b, &u); err != nil || u.Type != "stock" || u.ProductID != 2 {
			t.Fatalf("unexpected message %s", b)
		}
		seqs = append(seqs, u.Seq)
	}
	if seqs[1] != seqs[0]+1 {
		t.Errorf("sequence %v", seqs)
	}
	closed := make(chan error, 1)
	go func() {
		cctx, ccancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer ccancel()
		closed <- srv.Close(cctx)
	}()
	for { // the feed ends: the client's reads fail
		if _, _, err := c.Read(ctx); err != nil {
			break
		}
	}
	if err := <-closed; err != nil {
		t.Fatalf("Close: %v", err)
	}
	if ctx.Err() != nil {
		t.Fatal("the feed outlived the shop")
	}
}
