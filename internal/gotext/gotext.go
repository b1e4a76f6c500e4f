// Package gotext reads the text form of a Go goroutine profile
// (/debug/pprof/goroutine?debug=1) into a profile.Profile.
//
// The text form is the cheapest one for the program being watched: the
// protocol-buffer form (debug=0) gzips a freshly built profile each time,
// several times the CPU and about a megabyte of garbage per call, which a
// watch taking a snapshot every 100 ms must not put on the program it
// measures. The text form names each stack's functions, files and lines
// but leaves out the runtime frames at its top (runtime.gopark,
// runtime.selectgo, …); their number is kept as the numeric label
// "hidden" of each sample, so a reader can tell a goroutine stopped in
// the runtime (hidden > 0) from one running its own code.
//
// Format, as runtime/pprof writes it:
//
//	goroutine profile: total 7
//	5 @ 0x43a2e 0x4168ee 0x4f04c5
//	# labels: {"k":"v"}
//	#	0x4f04c4	main.work+0x4e4	/src/main.go:21
//
// records separated by blank lines.
package gotext

import (
	"bufio"
	"bytes"
	"fmt"
	"strconv"
	"strings"

	"github.com/google/pprof/profile"
)

// Limits of what one profile may hold.
const (
	maxRecords = 1 << 20
	maxFrames  = 4096
)

// Parse reads a goroutine profile in the text form. Errors name the line.
func Parse(data []byte) (*profile.Profile, error) {
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	p := &profile.Profile{
		SampleType: []*profile.ValueType{{Type: "goroutine", Unit: "count"}},
		PeriodType: &profile.ValueType{Type: "goroutine", Unit: "count"},
		Period:     1,
	}
	funcs := map[[2]string]*profile.Function{}
	locs := map[string]*profile.Location{}
	var cur *profile.Sample
	var addrs []uint64
	line := 0
	header := false
	finish := func() {
		if cur == nil {
			return
		}
		hidden := int64(0)
		if len(cur.Location) > 0 {
			first := cur.Location[0].Address
			for i, a := range addrs {
				if a == first || a-1 == first {
					hidden = int64(i)
					break
				}
			}
		} else {
			hidden = int64(len(addrs))
		}
		cur.NumLabel = map[string][]int64{"hidden": {hidden}}
		p.Sample = append(p.Sample, cur)
		cur, addrs = nil, nil
	}
	for sc.Scan() {
		line++
		text := strings.TrimRight(sc.Text(), "\r")
		switch {
		case !header:
			rest, ok := strings.CutPrefix(text, "goroutine profile: total ")
			if !ok {
				return nil, fmt.Errorf("line %d: not a goroutine profile in text form (want \"goroutine profile: total N\")", line)
			}
			if _, err := strconv.ParseUint(strings.TrimSpace(rest), 10, 64); err != nil {
				return nil, fmt.Errorf("line %d: bad total %q", line, rest)
			}
			header = true
		case text == "":
			finish()
		case strings.HasPrefix(text, "# labels:"):
		case strings.HasPrefix(text, "#"):
			if cur == nil {
				return nil, fmt.Errorf("line %d: a frame before its record's count line", line)
			}
			if len(cur.Location) >= maxFrames {
				return nil, fmt.Errorf("line %d: more than %d frames in one stack", line, maxFrames)
			}
			loc, err := frame(text, line, funcs, locs, p)
			if err != nil {
				return nil, err
			}
			cur.Location = append(cur.Location, loc)
		default:
			finish()
			count, rest, ok := strings.Cut(text, " @")
			n, err := strconv.ParseInt(count, 10, 64)
			if !ok || err != nil || n < 0 {
				return nil, fmt.Errorf("line %d: want \"COUNT @ ADDRESSES\", got %q", line, clip(text))
			}
			if len(p.Sample) >= maxRecords {
				return nil, fmt.Errorf("line %d: more than %d stacks", line, maxRecords)
			}
			for _, f := range strings.Fields(rest) {
				a, err := strconv.ParseUint(strings.TrimPrefix(f, "0x"), 16, 64)
				if err != nil {
					return nil, fmt.Errorf("line %d: bad address %q", line, clip(f))
				}
				if len(addrs) >= maxFrames {
					return nil, fmt.Errorf("line %d: more than %d addresses in one stack", line, maxFrames)
				}
				addrs = append(addrs, a)
			}
			cur = &profile.Sample{Value: []int64{n}}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("line %d: %w", line+1, err)
	}
	if !header {
		return nil, fmt.Errorf("empty: not a goroutine profile")
	}
	finish()
	return p, nil
}

// frame reads "#\tPC\tFUNC+OFF\tFILE:LINE" into a location with one line
// (an inlined call has a line of its own in the text form: each frame is
// a location here, keyed by address and function).
func frame(text string, line int, funcs map[[2]string]*profile.Function, locs map[string]*profile.Location, p *profile.Profile) (*profile.Location, error) {
	fields := strings.Fields(strings.TrimPrefix(text, "#"))
	if len(fields) < 2 {
		return nil, fmt.Errorf("line %d: want \"#\tPC\tFUNCTION+OFFSET\tFILE:LINE\", got %q", line, clip(text))
	}
	pc, err := strconv.ParseUint(strings.TrimPrefix(fields[0], "0x"), 16, 64)
	if err != nil {
		return nil, fmt.Errorf("line %d: bad address %q", line, clip(fields[0]))
	}
	name := fields[1]
	if i := strings.LastIndex(name, "+0x"); i > 0 {
		name = name[:i]
	}
	file, lineNo := "", int64(0)
	if len(fields) >= 3 {
		where := strings.Join(fields[2:], " ")
		if i := strings.LastIndexByte(where, ':'); i > 0 {
			file = where[:i]
			lineNo, _ = strconv.ParseInt(where[i+1:], 10, 64)
		} else {
			file = where
		}
	}
	key := fmt.Sprintf("%x %s %s %d", pc, name, file, lineNo)
	if l, ok := locs[key]; ok {
		return l, nil
	}
	fk := [2]string{name, file}
	fn, ok := funcs[fk]
	if !ok {
		fn = &profile.Function{ID: uint64(len(p.Function) + 1), Name: name, SystemName: name, Filename: file}
		funcs[fk] = fn
		p.Function = append(p.Function, fn)
	}
	l := &profile.Location{ID: uint64(len(p.Location) + 1), Address: pc, Line: []profile.Line{{Function: fn, Line: lineNo}}}
	locs[key] = l
	p.Location = append(p.Location, l)
	return l, nil
}

func clip(s string) string {
	if len(s) > 60 {
		return s[:60] + "…"
	}
	return s
}
