package netcond

import (
	"sync"
	"time"

	"github.com/Shopify/toxiproxy/v2/stream"
	tptoxics "github.com/Shopify/toxiproxy/v2/toxics"
)

// sharedBandwidthType is the toxic type of a bandwidth that all of a
// proxy's connections share (network.total_bandwidth); toxiproxy's own
// bandwidth toxic limits each connection apart.
const sharedBandwidthType = "stampede_shared_bandwidth"

func init() { tptoxics.Register(sharedBandwidthType, new(sharedBandwidth)) }

// sharedBandwidth passes data at Rate bytes a second over one line that
// every connection through the proxy queues on, one way. toxiproxy runs
// one instance of a toxic for all of a proxy's connections, so the line
// is the instance's: each chunk reserves the line for its length over
// the rate, after whatever was reserved before it, and is passed on when
// its reservation ends. Chunks are cut to a tenth of a second of the
// line, so one connection's large write does not hold the others back
// for long.
type sharedBandwidth struct {
	Rate int64 `json:"rate"` // bytes per second

	mu   sync.Mutex
	free time.Time // when the line is next free
}

// reserve takes the line for n bytes and returns when they have passed.
func (t *sharedBandwidth) reserve(n int) time.Time {
	t.mu.Lock()
	defer t.mu.Unlock()
	if now := time.Now(); t.free.Before(now) {
		t.free = now
	}
	t.free = t.free.Add(time.Duration(float64(n) / float64(t.Rate) * float64(time.Second)))
	return t.free
}

// Pipe passes one connection's data of one way through the line.
func (t *sharedBandwidth) Pipe(stub *tptoxics.ToxicStub) {
	piece := max(1, int(t.Rate/10))
	timer := time.NewTimer(0)
	defer timer.Stop()
	<-timer.C
	for {
		select {
		case <-stub.Interrupt:
			return
		case c := <-stub.Input:
			if c == nil {
				stub.Close()
				return
			}
			for sent := 0; sent < len(c.Data); {
				n := min(piece, len(c.Data)-sent)
				timer.Reset(time.Until(t.reserve(n)))
				select {
				case <-timer.C:
					stub.Output <- &stream.StreamChunk{Data: c.Data[sent : sent+n], Timestamp: c.Timestamp}
					sent += n
				case <-stub.Interrupt:
					// The toxic is being replaced: what is left goes on
					// unshaped rather than being dropped.
					if !timer.Stop() {
						<-timer.C
					}
					stub.WriteOutput(&stream.StreamChunk{Data: c.Data[sent:], Timestamp: c.Timestamp}, 5*time.Second)
					return
				}
			}
		}
	}
}
