// Package sql is the SQL step runner: a step runs one statement, or the
// statements of one transaction, against a database declared under the
// plan's `databases:`, counts the rows, extracts columns of the first row
// into variables, checks the row count and classifies failures (deadlock,
// serialization failure, statement or lock timeout, refused connection,
// exhausted pool).
//
// # Design
//
// Each declared database is one connection pool shared by all VUs, the
// way an application server shares its pool among its requests: the
// question a database test asks is usually how the pool and the database
// behave under many users, and a pool per VU would hide the pool. A
// step's time therefore has two parts, measured apart: the wait for a
// pooled connection (Sample.PoolWaitUS; it includes opening a connection
// when the pool grows) and the statements themselves. A wait that runs
// out of the database's acquire_timeout while every connection is busy is
// a pool_exhausted error, told apart from a statement that is slow.
//
// PostgreSQL goes through pgx's own pool (pgxpool), the first-class path:
// statements are prepared once per connection and cached by pgx (sql
// `prepared: false` sends them unprepared, one round trip each). MySQL
// (go-sql-driver) and SQLite (modernc.org/sqlite, driver name "sqlite")
// go through database/sql with the same step semantics; their statements
// are sent as written.
//
// Values never become SQL text. A statement takes them either from `args`
// (for its $1, $2 … or ? parameters) or inline, as {{ }} actions that the
// compiler turns into bind parameters: `WHERE id = {{ product_id }}`
// sends `WHERE id = $1` with the value bound. An action inside a quoted
// string is an error rather than a silent literal. Values are sent as
// text, which PostgreSQL casts to each parameter's type; integers go to
// database/sql drivers as integers.
//
// Transactions: a `tx:` step runs its statements in one transaction as
// one measured step (pgbench's unit). A `begin: true` step opens a
// transaction on a connection that the VU then holds, so later steps of
// the iteration run inside it until a `commit: true` or `rollback: true`
// step; a failed statement rolls it back at once, and one left open at
// the end of an iteration is rolled back when the VU next uses the
// database, so a transaction never spans iterations. `vars:` draws values
// once per step, so that several statements of a transaction can share a
// random id.
//
// Pools open when a VU first uses them, not at compile time, so checking
// a plan connects nowhere; they close when the last VU's Session closes.
// DSNs may read the environment (${NAME}) and are never printed: errors
// have the password scrubbed.
//
// Concurrency: Databases and Step are safe for use by any number of VUs;
// a Session belongs to one VU.
package sql
