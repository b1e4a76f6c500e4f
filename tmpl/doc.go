// Package tmpl expands `{{ }}` templates, draws rows from data feeders,
// extracts values from responses and checks responses. It sits on the
// per-request path of the load generator, so it is built around one split:
// everything that can be decided from the plan is decided once, at plan
// load, and the per-request work is a walk over a prepared list.
//
// # Templates
//
// A template is text with actions between `{{` and `}}`; whitespace inside
// the braces is optional. An action holds one expression:
//
//	{{ vu }}                    the VU id
//	{{ iteration }}             the VU's iteration number
//	{{ uuid }}, {{ uuid() }}    a random version 4 UUID
//	{{ random_int(lo, hi) }}    a random integer in [lo, hi]; lo and hi are integer literals
//	{{ random_string(n) }}      n random characters from [0-9A-Za-z], 1 <= n <= 65536
//	{{ timestamp }}             the current Unix time in milliseconds
//	{{ env.NAME }}              an environment variable, read once at compile time; unset (or empty) is an error
//	{{ env.NAME or "text" }}    the same, or text when it is unset or empty
//	{{ users.email }}           column email of the current row of feeder users
//	{{ order_id }}              a variable: extracted earlier in the iteration, or a plan variable
//	{{ "{{" }}                  a double-quoted string literal (Go escapes), here a literal {{
//
// vu, iteration and timestamp may also be written with empty parentheses.
// Names are ASCII letters, digits, '_', '-' and '.', starting with a letter
// or '_'. A dotted name whose part before a dot names a feeder is a feeder
// column; env.NAME is always the environment; any other name is a variable.
// Built-in names win over variables of the same name. Text outside actions
// is copied as is, including a lone `}}`.
//
// [Compiler.Compile] parses a template once and resolves what it can: string
// literals and env.NAME become literal text, feeder columns become column
// indexes, adjacent literals are merged. [Template.Append] then expands it
// into a caller's buffer without allocating. Errors are [*SyntaxError]s that
// name the column (and line, for multi-line templates) and say what to
// write instead.
//
// In a URL ([Template.AppendURL], used for paths) the plan's literal text
// is kept as written and every value — variable, feeder cell, environment
// variable — is percent-encoded: as a path segment before the first
// literal '?', as a query value after it, so a value cannot change the
// request's path, query or request line.
//
// A variable that has no value when a template is expanded expands to the
// empty string and is recorded on the [State] ([State.Missing]), so that the
// engine can fail the request as extract_failed instead of sending a request
// with a hole in it. A plan-level variable is a default: an extracted value
// of the same name wins. [Template.Vars] lists the variables a template
// needs from extractors, so the plan validator can report a step that reads
// a variable no earlier step extracts.
//
// # Randomness and time
//
// uuid, random_int, random_string and random feeders draw from the VU's own
// math/rand/v2 generator, held by its State, so there is no lock between VUs
// and a run seeded with a fixed seed expands the same values again. The
// trade-off is that UUIDs are only as unique as the seeds: the engine must
// seed each VU differently (for example rand.NewPCG(runSeed, uint64(vu))) and
// pick a fresh run seed unless the user asked for a fixed one. A fixed seed
// repeats the same UUIDs run after run, which a system under test with
// unique keys will notice. The clock is injected in the State for the same
// reasons: tests and replays.
//
// # Feeders
//
// A [Feeder] holds the rows of a CSV or JSON file once, row-major in one
// slice of cells, and templates address columns by index. Rows are drawn
// lazily: a VU draws a row of a feeder the first time one of its templates
// reads that feeder in an iteration, and keeps it for the rest of the
// iteration, so `{{ users.email }}` and `{{ users.password }}` of one
// iteration come from the same row. Modes:
//
//   - sequential (default): rows in file order across all VUs, wrapping at
//     the end; one atomic counter per feeder is the only shared mutable
//     state in this package.
//   - random: a uniform row from the VU's generator.
//   - unique: VU k holds row k mod n for its whole life. With more VUs than
//     rows the ids wrap, VU k and VU k+n share a row and the rows are no
//     longer unique; [Feeder.Len] lets the validator warn about it.
//
// # Extractors and checks
//
// [CompileExtractor] and [CompileCheck] turn the plan's extractor and check
// into forms with the JSON paths, regular expressions and expected values
// prepared. Checks read the body in place and do not allocate when they
// pass; an extracted value is copied out of the body because it outlives
// the response buffer.
//
// # Concurrency
//
// Compiler, Template, Feeder, Extractor and Check are immutable after
// construction and safe for use by any number of goroutines (a sequential
// Feeder advances an atomic counter). A State belongs to one VU and must not
// be used by two goroutines at once.
package tmpl
