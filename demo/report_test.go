package demo

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
)

// TestSalesReport: the report answers the rows asked for, largest amounts
// first, and refuses sizes out of bounds.
func TestSalesReport(t *testing.T) {
	shop, err := New(t.Context(), Options{Products: 5, Users: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer shop.Close()
	srv := httptest.NewServer(shop.Handler())
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/api/reports/sales?rows=3000")
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Rows  int     `json:"rows"`
		Total int64   `json:"total_cents"`
		Top   []int64 `json:"top_cents"`
	}
	err = json.NewDecoder(resp.Body).Decode(&got)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d, %v", resp.StatusCode, err)
	}
	if got.Rows != 3000 || len(got.Top) != 5 || !slices.IsSortedFunc(got.Top, func(a, b int64) int { return int(b - a) }) || got.Total < got.Top[0] {
		t.Errorf("report %+v", got)
	}
	for _, q := range []string{"rows=0", "rows=262145", "rows=x"} {
		resp, err := http.Get(srv.URL + "/api/reports/sales?" + q)
		if err != nil {
			t.Fatal(err)
		}
		var e errorBody
		json.NewDecoder(resp.Body).Decode(&e)
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(e.Error, "from 1 to 262144") {
			t.Errorf("%s: status %d, %q", q, resp.StatusCode, e.Error)
		}
	}
}
