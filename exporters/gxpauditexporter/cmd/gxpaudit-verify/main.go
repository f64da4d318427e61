// Command gxpaudit-verify checks a gxp-otel audit trail (docs/audit-format.md §10), independently of the writer.
//
//	gxpaudit-verify [--json] [--trusted-key HEX|FILE]... [--checkpoints FILE]... TRAIL_DIR|CHAIN_FILE
//
// Exit status: 0 the trail verified, 1 a problem was found, 2 usage or I/O error.
package main

import (
	"crypto/ed25519"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/gxp-otel/gxp-otel/exporters/gxpauditexporter/auditformat"
	"github.com/gxp-otel/gxp-otel/exporters/gxpauditexporter/auditverify"
)

type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("gxpaudit-verify", flag.ContinueOnError)
	fs.SetOutput(stderr)
	asJSON := fs.Bool("json", false, "print the report as JSON")
	var trusted, held listFlag
	fs.Var(&trusted, "trusted-key", "trusted Ed25519 public key: 64 hex digits or a PEM file (repeatable)")
	fs.Var(&held, "checkpoints", "a copy of a checkpoint file kept outside the trail (repeatable)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: gxpaudit-verify [--json] [--trusted-key KEY]... [--checkpoints FILE]... TRAIL")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return 2
	}
	opts := auditverify.Options{CheckpointFiles: held}
	for _, k := range trusted {
		key, err := readPublicKey(k)
		if err != nil {
			fmt.Fprintf(stderr, "gxpaudit-verify: --trusted-key %s: %v\n", k, err)
			return 2
		}
		opts.TrustedKeys = append(opts.TrustedKeys, key)
	}
	report, err := auditverify.Verify(fs.Arg(0), opts)
	if err != nil {
		fmt.Fprintf(stderr, "gxpaudit-verify: %v\n", err)
		return 2
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(report)
	} else {
		printReport(stdout, report)
	}
	if !report.OK {
		return 1
	}
	return 0
}

func readPublicKey(arg string) (ed25519.PublicKey, error) {
	if key, err := auditformat.ParsePublicKey([]byte(arg)); err == nil {
		return key, nil
	}
	data, err := os.ReadFile(arg)
	if err != nil {
		return nil, fmt.Errorf("neither 64 hex digits nor a readable key file: %w", err)
	}
	return auditformat.ParsePublicKey(data)
}

func printReport(w io.Writer, r *auditverify.Report) {
	for _, s := range r.Streams {
		last := "none"
		if s.LastSeq != nil {
			last = fmt.Sprint(*s.LastSeq)
		}
		fmt.Fprintf(w, "stream %s: %d records in %d files, last seq %s, %d checkpoints (%d signed), keys %s\n",
			s.Stream, s.Records, len(s.Files), last, s.Checkpoints, s.SignedCheckpoints, s.KeySource)
		for _, note := range s.Notes {
			fmt.Fprintf(w, "  note: %s\n", note)
		}
	}
	for _, p := range r.Problems {
		where := p.File
		if p.Line != nil {
			where += fmt.Sprintf(":%d", *p.Line)
		}
		seq := ""
		if p.Seq != nil {
			seq = fmt.Sprintf(" seq %d", *p.Seq)
		}
		fmt.Fprintf(w, "PROBLEM %s%s: %s: %s\n", where, seq, p.Kind, p.Detail)
	}
	if r.OK {
		fmt.Fprintf(w, "OK: the trail verified (%d records, %d files)\n", r.Records, r.Files)
	} else {
		fmt.Fprintf(w, "FAILED: %d problem(s)\n", len(r.Problems))
	}
}
