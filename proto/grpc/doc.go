// Package grpc is the gRPC step runner (google.golang.org/grpc): unary and
// server-streaming calls by service and method, with a JSON request
// (protojson) built into a dynamic message (dynamicpb), so no generated
// code is needed.
//
// Message types come from one of two places. With grpc.proto, the files
// are compiled when the plan is (github.com/bufbuild/protocompile, no
// protoc), so a file that does not compile, a method that does not exist
// and a request whose fields are not in its type are plan errors with
// their position. Without, they come from the server's reflection service
// the first time a step needs them; the answer is shared by every step
// and VU calling that server, and a failed lookup is retried at most once
// a second. A method the server does not know is then grpc_unimplemented.
//
// Each VU has its own client connection per server, made on first use,
// like the HTTP runner's connection per VU; its set-up (TCP, TLS, HTTP/2
// settings) is the connect phase of the VU's first call, and part of that
// call's latency, as for HTTP (so is the reflection lookup, for the calls
// that wait for it). A call's latency ends with the last message: for a
// unary call its reply, for a server stream the end of the stream; the
// time from sending to the first message is the TTFB phase.
// Status codes are error kinds (metrics.KindGRPC…; DEADLINE_EXCEEDED is
// timeout), the code's number the sample's status. The deadline is the
// step's timeout. Responses are read as JSON (protojson, field names as in
// the .proto, unset fields included) only when a check or an extractor
// needs them: for a stream, the last message.
package grpc
