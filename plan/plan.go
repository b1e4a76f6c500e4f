// Package plan holds the plan document: what to load, how hard, for how
// long, and what must hold. It decodes YAML with line:column positions,
// validates the whole document reporting every problem at once, fills
// defaults, and knows the standard protocol profiles. It runs nothing.
//
// The types are plain data; the engine compiles them into its own fast
// forms (templates, pacers) before a run starts, so nothing here is on the
// per-request path.
package plan

import "time"

// Plan is one decoded plan file (or a plan built from CLI flags).
type Plan struct {
	Name       string               `yaml:"name" json:"name"`
	Target     Target               `yaml:"target" json:"target"`
	Variables  map[string]string    `yaml:"variables" json:"variables,omitempty"`
	Data       map[string]*Feeder   `yaml:"data" json:"data,omitempty"`
	Scenarios  []*Scenario          `yaml:"scenarios" json:"scenarios"`
	Load       LoadSpec             `yaml:"load" json:"load"`
	Loads      Loads                `yaml:"loads" json:"loads,omitempty"` // several named loads instead of load
	Thresholds []*Threshold         `yaml:"thresholds" json:"thresholds,omitempty"`
	System     *System              `yaml:"system" json:"system,omitempty"`
	Tests      *Tests               `yaml:"tests" json:"tests,omitempty"`
	Databases  map[string]*Database `yaml:"databases" json:"databases,omitempty"`
	Benchmarks []*BenchmarkSuite    `yaml:"benchmarks" json:"benchmarks,omitempty"`
	Analysis   map[string]float64   `yaml:"analysis" json:"analysis,omitempty"`
	Monitor    *Monitor             `yaml:"monitor" json:"monitor,omitempty"`
	// Distributed is how a test spread over agents (run --agents) treats
	// them.
	Distributed *Distributed `yaml:"distributed" json:"distributed,omitempty"`

	// File is the path the plan was read from ("" for flag-built plans);
	// relative feeder paths are resolved against its directory.
	File string `yaml:"-" json:"-"`

	// pos maps field paths (`scenarios[1].steps[0].method`) to where they
	// were written; Parse fills it, and it stays nil for flag-built plans.
	pos map[string]position
}

// Target is the system under test and what every request shares.
type Target struct {
	BaseURL  string            `yaml:"base_url" json:"base_url"`
	Headers  map[string]string `yaml:"headers" json:"headers,omitempty"`
	Timeout  Duration          `yaml:"timeout" json:"timeout,omitempty"` // per request, default 10s
	Insecure bool              `yaml:"insecure_skip_verify" json:"insecure_skip_verify,omitempty"`
	// KeepAlive false closes the connection after every request.
	KeepAlive *bool `yaml:"keep_alive" json:"keep_alive,omitempty"`
	// MaxBody is the largest response body a step that checks or extracts
	// from it keeps (default 4 MiB); a larger one fails the request as
	// body_too_large. Bodies nothing reads are counted and discarded
	// whatever their size.
	MaxBody ByteSize `yaml:"max_body" json:"max_body,omitempty"`
	// HTTP is the protocol version: 1 (HTTP/1.1, default) or 2 (h2 over
	// TLS by ALPN, h2c with prior knowledge over cleartext).
	HTTP int `yaml:"http" json:"http,omitempty"`
	// Cookies: true (default: a jar per VU, cleared at each iteration),
	// false (no jar) or keep (the jar lasts the VU's lifetime).
	Cookies CookieMode `yaml:"cookies" json:"cookies,omitempty"`
	// Redirects is how many redirects a step follows (default 10; 0
	// turns following off); a step may set its own.
	Redirects *int `yaml:"redirects" json:"redirects,omitempty"`
	// Proxy is an http:// proxy URL for every request; without it the
	// standard HTTP_PROXY, HTTPS_PROXY and NO_PROXY variables apply.
	Proxy string `yaml:"proxy" json:"proxy,omitempty"`
	TLS   *TLS   `yaml:"tls" json:"tls,omitempty"`
	// Auth applies to every HTTP step that sets no auth of its own.
	Auth *Auth `yaml:"auth" json:"auth,omitempty"`
}

// Feeder is a data file whose rows feed `{{ name.column }}` templates.
type Feeder struct {
	File string `yaml:"file" json:"file"`
	// Mode: sequential (default; rows in order across all VUs), random, or
	// unique (each VU holds its own row for its lifetime).
	Mode string `yaml:"mode" json:"mode,omitempty"`
}

// Scenario is a weighted user journey: a list of steps run in order per
// iteration.
type Scenario struct {
	Name   string  `yaml:"name" json:"name"`
	Weight int     `yaml:"weight" json:"weight"`         // default 1
	Think  *Think  `yaml:"think" json:"think,omitempty"` // default think time between steps
	Steps  []*Step `yaml:"steps" json:"steps"`
}

// Step is one request of a scenario.
type Step struct {
	Name    string            `yaml:"name" json:"name"`
	Method  string            `yaml:"method" json:"method,omitempty"` // default GET (POST when a body is set)
	Path    string            `yaml:"path" json:"path,omitempty"`     // joined to target.base_url unless absolute
	Headers map[string]string `yaml:"headers" json:"headers,omitempty"`
	Query   map[string]string `yaml:"query" json:"query,omitempty"`
	Body    string            `yaml:"body" json:"body,omitempty"`
	JSON    any               `yaml:"json" json:"json,omitempty"` // encoded as the body, templated after encoding
	// Form is an application/x-www-form-urlencoded body, values templated.
	Form      map[string]string `yaml:"form" json:"form,omitempty"`
	Multipart *Multipart        `yaml:"multipart" json:"multipart,omitempty"`
	// BodyFile is sent as the body as it is on disk (read once, not
	// templated).
	BodyFile  string   `yaml:"body_file" json:"body_file,omitempty"`
	Auth      *Auth    `yaml:"auth" json:"auth,omitempty"`
	Redirects *int     `yaml:"redirects" json:"redirects,omitempty"` // overrides target.redirects
	Timeout   Duration `yaml:"timeout" json:"timeout,omitempty"`
	// Parallel runs this HTTP step together with the next one (and so on
	// while steps are marked): over HTTP/2 as concurrent streams on the
	// VU's connection, over HTTP/1.1 one after another.
	Parallel bool                  `yaml:"parallel" json:"parallel,omitempty"`
	Think    *Think                `yaml:"think" json:"think,omitempty"` // pause after this step
	Extract  map[string]*Extractor `yaml:"extract" json:"extract,omitempty"`
	Check    *Check                `yaml:"check" json:"check,omitempty"`
	SQL      *SQLStep              `yaml:"sql" json:"sql,omitempty"`
	WS       *WSStep               `yaml:"ws" json:"ws,omitempty"`
	GRPC     *GRPCStep             `yaml:"grpc" json:"grpc,omitempty"`
}

// Think is a pause: fixed (`think: 1s`) or uniform (`think: {min: 1s, max: 3s}`).
type Think struct {
	Min Duration `yaml:"min" json:"min"`
	Max Duration `yaml:"max" json:"max"` // equal to Min for a fixed pause
}

// Extractor takes one value out of a response into a variable. Exactly one
// of JSON (a gjson path), Regex (first capture group, or Group) or Header is
// set.
type Extractor struct {
	JSON   string `yaml:"json" json:"json,omitempty"`
	Regex  string `yaml:"regex" json:"regex,omitempty"`
	Group  int    `yaml:"group" json:"group,omitempty"`
	Header string `yaml:"header" json:"header,omitempty"`
	// Column names a result column of an SQL step.
	Column string `yaml:"column" json:"column,omitempty"`
}

// Check is what a response must satisfy; a failure is an error of kind
// check_failed.
type Check struct {
	Status       []int        `yaml:"status" json:"status,omitempty"` // one code or a list; default: any 2xx/3xx
	BodyContains string       `yaml:"body_contains" json:"body_contains,omitempty"`
	JSON         []*JSONCheck `yaml:"json" json:"json,omitempty"`
	Rows         *int         `yaml:"rows" json:"rows,omitempty"` // SQL steps: exact row count
	MinRows      *int         `yaml:"min_rows" json:"min_rows,omitempty"`
}

// JSONCheck checks one gjson path of a JSON body.
type JSONCheck struct {
	Path   string `yaml:"path" json:"path"`
	Equals any    `yaml:"equals" json:"equals,omitempty"`
	Exists *bool  `yaml:"exists" json:"exists,omitempty"`
}

// LoadSpec is how much load, shaped how, for how long. A plan sets either the
// closed model (vus or stages with users) or the open model (rate or stages
// with rate).
type LoadSpec struct {
	Model        string   `yaml:"model" json:"model,omitempty"` // closed|open; inferred when empty
	VUs          int      `yaml:"vus" json:"vus,omitempty"`
	Rate         float64  `yaml:"rate" json:"rate,omitempty"` // iterations per second
	Duration     Duration `yaml:"duration" json:"duration,omitempty"`
	RampUp       Duration `yaml:"ramp_up" json:"ramp_up,omitempty"`
	RampDown     Duration `yaml:"ramp_down" json:"ramp_down,omitempty"`
	Stages       []*Stage `yaml:"stages" json:"stages,omitempty"`
	MaxVUs       int      `yaml:"max_vus" json:"max_vus,omitempty"` // open model: VU ceiling
	PreVUs       int      `yaml:"pre_allocated_vus" json:"pre_allocated_vus,omitempty"`
	Arrivals     string   `yaml:"arrivals" json:"arrivals,omitempty"` // constant (default) or poisson
	GracefulStop Duration `yaml:"graceful_stop" json:"graceful_stop,omitempty"`
	Iterations   int64    `yaml:"iterations" json:"iterations,omitempty"` // stop after this many (0: by time)
	Seed         int64    `yaml:"seed" json:"seed,omitempty"`
	// Network puts a shaping proxy between the generator and the
	// target (see Network).
	Network *Network `yaml:"network" json:"network,omitempty"`
}

// Stage ramps to Users (closed) or Rate (open) over RampUp, then holds for
// Duration.
type Stage struct {
	Users    *int     `yaml:"users" json:"users,omitempty"`
	Rate     *float64 `yaml:"rate" json:"rate,omitempty"`
	RampUp   Duration `yaml:"ramp_up" json:"ramp_up,omitempty"`
	Duration Duration `yaml:"duration" json:"duration,omitempty"`
}

// Threshold is one SLO: `p95 < 500ms`, `error_rate < 1%`, `rps > 100`,
// overall or for one scenario or step ("Checkout" or "Checkout/place order").
type Threshold struct {
	Expr  string `yaml:"expr" json:"expr"`
	Scope string `yaml:"scope" json:"scope,omitempty"`
	Abort bool   `yaml:"abort" json:"abort,omitempty"` // stop the run when it fails

	// Parsed by Validate.
	Metric string  `yaml:"-" json:"-"` // p50…p999, mean, max, min, error_rate, rps, requests, errors
	Op     string  `yaml:"-" json:"-"` // <, <=, >, >=
	Value  float64 `yaml:"-" json:"-"` // latency in ms, rates as 0..1, rps as is
}

// ByteSize is a number of bytes written as 1048576, "512KiB", "4MiB",
// "1GiB" (or kB, MB, GB in powers of 1000).
type ByteSize int64

// Duration is a time.Duration written as "500ms", "2m", "1h30m".
type Duration time.Duration

// D returns the value as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }
