package cli

import (
	"fmt"
	"sort"
	"strings"

	"github.com/stampede-perf/stampede/load"
	"github.com/stampede-perf/stampede/result"
)

// checkParts reports, in one line, why runs (read from files) are not
// exactly the parts of one test: runs of different plans, whole runs
// merged together (which would add their loads), parts cut differently
// (1/2 with 1/3), a part given twice, or a part missing. It returns nil
// for a complete set, and for a single whole run. forcible is false when
// no merge is possible at all (a part given twice would be counted twice).
func checkParts(runs []*result.Run, files []string) (forcible bool, err error) {
	var problems []string
	forcible = true
	for i, r := range runs[1:] {
		if r.PlanHash != "" && runs[0].PlanHash != "" && r.PlanHash != runs[0].PlanHash {
			problems = append(problems, fmt.Sprintf("%s was run from a different plan than %s (plan hash %.12s, not %.12s)", files[i+1], files[0], r.PlanHash, runs[0].PlanHash))
		}
	}
	var whole []string
	parts := map[int][]string{} // part k (1-based) → files
	n := 0
	for i, r := range runs {
		if r.Segment == "" {
			whole = append(whole, files[i])
			continue
		}
		seg, err := load.ParseSegment(r.Segment)
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s: %v", files[i], err))
			continue
		}
		switch {
		case n == 0:
			n = seg.N
		case seg.N != n:
			problems = append(problems, fmt.Sprintf("%s is part %s, but the other parts are of %d", files[i], r.Segment, n))
			continue
		}
		parts[seg.K+1] = append(parts[seg.K+1], files[i])
	}
	switch {
	case len(whole) > 0 && len(runs) > 1 && len(whole) == len(runs):
		problems = append(problems, fmt.Sprintf("%s are whole runs, not parts of one test (--segment k/n): merged, their loads would add up", strings.Join(whole, " and ")))
	case len(whole) > 0 && len(runs) > 1:
		problems = append(problems, fmt.Sprintf("%s is a whole run (no --segment), not a part", strings.Join(whole, ", ")))
	}
	if n > 0 {
		var missing []string
		for k := 1; k <= n; k++ {
			switch fs := parts[k]; {
			case len(fs) == 0:
				missing = append(missing, fmt.Sprintf("%d/%d", k, n))
			case len(fs) > 1:
				problems = append(problems, fmt.Sprintf("part %d/%d is given %d times (%s)", k, n, len(fs), strings.Join(fs, ", ")))
				forcible = false
			}
		}
		if len(missing) > 0 {
			sort.Strings(missing)
			problems = append(problems, fmt.Sprintf("part %s of %d is missing", strings.Join(missing, ", "), n))
		}
	}
	if len(problems) == 0 {
		return true, nil
	}
	return forcible, fmt.Errorf("not the parts of one test: %s", strings.Join(problems, "; "))
}
