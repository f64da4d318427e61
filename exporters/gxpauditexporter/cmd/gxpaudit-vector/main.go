// Command gxpaudit-vector plays a golden test vector (tests/vectors/README.md) against the Go writer and writes the
// resulting trail into a directory, so tests can compare it with what the Python writer produced for the same
// input. A test tool, not part of the collector.
//
//	gxpaudit-vector VECTOR.json OUTPUT_DIR
package main

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/gxp-otel/gxp-otel/exporters/gxpauditexporter/internal/vectorplay"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: gxpaudit-vector VECTOR.json OUTPUT_DIR")
		os.Exit(2)
	}
	raw, err := os.ReadFile(os.Args[1])
	if err == nil {
		var v vectorplay.Vector
		if err = json.Unmarshal(raw, &v); err == nil {
			err = vectorplay.Play(&v, os.Args[2])
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "gxpaudit-vector:", err)
		os.Exit(1)
	}
}
