package store

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

func testMonitorState(t *testing.T, b backend) {
	ctx := context.Background()
	s := openT(t, b.newDSN(t), Options{})
	if doc, err := s.MonitorState(ctx, "shop"); err != nil || doc != nil {
		t.Fatalf("a plan never monitored: %q, %v; want nothing", doc, err)
	}
	for _, doc := range []string{`{"open":true}`, `{"open":false}`} {
		if err := s.SetMonitorState(ctx, "shop", []byte(doc)); err != nil {
			t.Fatal(err)
		}
		got, err := s.MonitorState(ctx, "shop")
		if err != nil || !bytes.Equal(got, []byte(doc)) {
			t.Errorf("state %q, %v; want %s", got, err, doc)
		}
	}
	if err := s.SetMonitorState(ctx, "other", []byte(`{}`)); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.MonitorState(ctx, "shop"); string(got) != `{"open":false}` {
		t.Errorf("another plan's state replaced shop's: %s", got)
	}
	if err := s.SetMonitorState(ctx, "shop", []byte(strings.Repeat("x", MaxMonitorState+1))); err == nil {
		t.Error("a state past the bound was kept")
	}
}
