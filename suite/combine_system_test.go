package suite

import (
	"reflect"
	"testing"

	"github.com/stampede-perf/stampede/result"
)

// TestCombineSystemsKeepsEveryAnalysis: the protocol's Run carries every
// analysis of the representative load's watch, so its findings are drawn
// as that load's were (own code told apart by the module, waits, …).
// Every field of System other than the ones combined over the loads is
// set on the picked load and must come through.
func TestCombineSystemsKeepsEveryAnalysis(t *testing.T) {
	picked := &result.System{
		Hotspots:      []result.Hotspot{{Function: "f"}},
		Contention:    []result.Contention{{Function: "g"}},
		Heap:          &result.Heap{StartMB: 1},
		GC:            &result.GC{CyclesPerS: 1},
		Database:      &result.Database{Deadlocks: 1},
		Module:        &result.Module{Path: "example.com/svc"},
		Alloc:         &result.AllocPressure{CPUPct: 1},
		Waits:         &result.Waits{Snapshots: 1},
		Goroutines:    &result.GoroutineTrend{Start: 1},
		RequestCPUPct: 50,

		CPUProfileCoverage: 0.9,
		CPUSamples:         740,
	}
	out := combineSystems([]*result.System{{IntervalS: 1}, picked}, []float64{0, 10}, 1)
	combined := map[string]bool{"Process": true, "IntervalS": true, "Timeline": true, "Profiles": true, "Warnings": true}
	v, pv := reflect.ValueOf(*out), reflect.ValueOf(*picked)
	for i := range v.NumField() {
		name := v.Type().Field(i).Name
		if combined[name] {
			continue
		}
		if pv.Field(i).IsZero() {
			t.Errorf("the test does not set System.%s: set it on the picked load", name)
			continue
		}
		if !reflect.DeepEqual(v.Field(i).Interface(), pv.Field(i).Interface()) {
			t.Errorf("System.%s not carried into the protocol's Run", name)
		}
	}
}
