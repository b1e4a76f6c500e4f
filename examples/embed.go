// Package examples embeds the example plans and their data so the
// stampede binary can run them without a checkout (stampede demo).
package examples

import "embed"

// FS holds every example plan (NAME.yaml, run by stampede demo
// --example NAME) and the data they read (users.csv).
//
//go:embed *.yaml users.csv
var FS embed.FS
