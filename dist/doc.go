// Package dist spreads one test over several load generators: a
// coordinator (`stampede run PLAN --agents N`) and agents (`stampede
// agent --coordinator HOST:PORT`), each agent running one execution
// segment k/N of the same plan, so the parts add up exactly to the whole
// test.
//
// Design.
//
// Who dials whom: agents dial the coordinator. The coordinator is one
// address known before the test (a Kubernetes Service, a host name);
// agents are many, come and go, and sit behind NAT or in pods whose
// addresses nobody knows in advance. An agent that dials needs no
// listening port, and an Indexed Job of agents needs no discovery.
//
// Transport: one bidirectional gRPC stream per agent
// (google.golang.org/grpc over HTTP/2: framing, flow control, TLS,
// keepalive and deadlines are the library's). No protoc is used: the
// service is a hand-written grpc.ServiceDesc with one streaming method,
// and the messages are Go structs carried by a JSON codec forced on both
// ends (grpc.ForceCodec, grpc.ForceServerCodec), so no global codec is
// registered and no generated code has to be kept in step with a .proto
// file. The windows are small (encoded HDR histograms, once a second per
// agent), so JSON's cost does not matter; its readability in a packet
// capture does.
//
// Trust: a shared token (--token or STAMPEDE_TOKEN) travels as per-call
// credentials and is checked, in constant time, by an interceptor on
// every call; the coordinator proves it knows the token too, with an
// HMAC of the agent's random nonce in the job it sends, so an agent obeys
// only its own coordinator. TLS (a certificate on the coordinator, a CA
// on the agents) keeps the token and the plan private on the wire.
// Coordinator and agents must be the same stampede release: the hello
// carries the version and a mismatch is refused with a one-line reason on
// both sides.
//
// Protocol: hello (version, host, nonce, the index an Indexed Job gave
// the agent) → job (plan, data files, load flags, segment k/N,
// heartbeat) → ready or fail → clock pings (the offset of the agent's
// clock is estimated from the exchange with the shortest round trip) →
// start at one wall-clock instant, given in the coordinator's clock and
// moved by each agent's offset → windows as they close, heartbeats both
// ways → done (the agent's own final Run) → the stream ends. Either side
// that hears nothing for the heartbeat (default 5s) counts the other
// lost: the coordinator reports the agent and goes on or stops every
// agent (plan `distributed: {on_agent_loss: continue|abort}`); an agent
// stops its load and keeps its own partial Run.
//
// Merging: the coordinator merges each second's windows of all agents
// exactly (metrics.MergeWindows: histograms merged, never percentiles
// averaged) as soon as every live agent has sent it, or two seconds after
// the first one came; Live keeps the merged run so far for thresholds
// and progress. The final Run is metrics.Merge of the agents' final Runs,
// the same fold as `stampede merge`, so its percentiles equal those of
// the agents' own files merged by hand.
package dist
