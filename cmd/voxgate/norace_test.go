//go:build !race

package main

// raceEnabled tells tests that they run under the race detector.
const raceEnabled = false
