package demo

import (
	"cmp"
	"encoding/binary"
	"hash/fnv"
	"net/http"
	"slices"
)

// The sales report is the shop's memory-heavy endpoint: it builds the
// whole report in memory before answering — rows of ReportRowBytes each,
// sorted by amount — so its working set grows with the rows a request
// asks for, which is what the memory stress variant steps. The rows are
// bounded by MaxReportRows (256 MiB of working set per request).
const (
	ReportRowBytes = 1 << 10
	MaxReportRows  = 256 << 10
)

type reportRow struct {
	amount int64
	line   []byte // the row as printed, ReportRowBytes
}

// salesReport: GET /api/reports/sales?rows=N (1 to MaxReportRows, default
// 1000) → {rows, total_cents, top_cents: [the five largest amounts],
// checksum}.
func (s *Shop) salesReport(w http.ResponseWriter, r *http.Request) {
	n, err := queryInt(r, "rows", 1000, MaxReportRows)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	rows := make([]reportRow, n)
	var total int64
	x := uint64(n)*0x9e3779b97f4a7c15 + 1
	for i := range rows {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		line := make([]byte, ReportRowBytes)
		for j := 0; j+8 <= len(line); j += 8 { // every page of the row touched
			binary.LittleEndian.PutUint64(line[j:], x+uint64(j))
		}
		rows[i] = reportRow{amount: int64(x % 100000), line: line}
		total += rows[i].amount
	}
	slices.SortFunc(rows, func(a, b reportRow) int { return cmp.Compare(b.amount, a.amount) })
	h := fnv.New64a()
	top := make([]int64, 0, 5)
	for i, row := range rows {
		h.Write(row.line[:8])
		if i < 5 {
			top = append(top, row.amount)
		}
	}
	writeJSON(w, http.StatusOK, struct {
		Rows     int     `json:"rows"`
		Total    int64   `json:"total_cents"`
		Top      []int64 `json:"top_cents"`
		Checksum uint64  `json:"checksum"`
	}{n, total, top, h.Sum64()})
}
