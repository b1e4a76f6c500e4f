// Package analyze turns Runs into statistics and conclusions; it prints nothing.
package analyze
