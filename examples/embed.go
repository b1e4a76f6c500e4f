// Package examples embeds the example plans and their data so the
// stampede binary can run them without a checkout (stampede demo).
package examples

import "embed"

// FS holds shop.yaml and users.csv.
//
//go:embed shop.yaml users.csv
var FS embed.FS
