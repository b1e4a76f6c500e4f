// Package ws is the WebSocket step runner (github.com/coder/websocket).
//
// Each VU owns at most one connection, opened by a step with connect and
// kept for the rest of the iteration: the scenario's later ws steps send
// on it, wait on it and hold it, and the last of them closes it (normal
// closure) unless a step closed it already. A connection from an earlier
// iteration that an iteration cut short left open is closed before the
// VU's next one uses it.
//
// One goroutine a connection reads every message as it arrives into a
// small queue, so that a step can wait for a matching message with its own
// timeout: coder/websocket closes a connection whose Read is cancelled,
// which a timeout on Read itself would do. The reader counts what it
// receives; each step reports the messages and bytes received since the
// step before, so every message is counted once.
//
// What a step measures: its latency is the whole step (from the VU's
// intended start for the first step of an open-model iteration, as for
// every step); the handshake goes into the connect phase, and the time
// from sending the step's message (or, without one, from the step's
// start) to the matching message into the TTFB phase, so a step with
// send and expect has the round trip as its latency. A connection that
// ends while a step uses it is a ws_closed error whose status is the
// close code (1006 when it dropped without a close frame); a handshake
// the server refuses is http_4xx or http_5xx with its status.
package ws
