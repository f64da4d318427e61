// Command gxpaudit-verify checks a gxp-otel audit trail (docs/audit-format.md §10), independently of the writer.
//
//	gxpaudit-verify [--json] [--trusted-key HEX|FILE]... [--signer FILE]... [--purger FILE]... [--checkpoints FILE]...
//	                TRAIL_DIR|CHAIN_FILE
//
// Exit status is the verdict's (§13): 0 VERIFIED or VERIFIED-SELF-KEYED, 1 NOT VERIFIED, 3 UNSEALED-TAIL,
// 4 NO RECORDS; 2 a usage or I/O error.
package main

import (
	"crypto/ed25519"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"unicode/utf8"

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
	var trusted, held, signers, purgers listFlag
	fs.Var(&trusted, "trusted-key", "trusted writer key (checkpoints): 64 hex digits or a PEM file (repeatable)")
	fs.Var(&signers, "signer", "signer registry entry KEY.signer.json: keys trusted for e-signatures (repeatable)")
	fs.Var(&purgers, "purger", "purger registry entry (same format): keys trusted for purge tombstones (repeatable)")
	fs.Var(&held, "checkpoints", "a copy of a checkpoint file kept outside the trail (repeatable)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: gxpaudit-verify [--json] [--trusted-key KEY]... [--signer FILE]... [--purger FILE]... [--checkpoints FILE]... TRAIL")
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
	for _, registry := range []struct {
		flag  string
		files []string
		into  *[]auditverify.RegistryEntry
	}{{"--signer", signers, &opts.Signers}, {"--purger", purgers, &opts.Purgers}} {
		for _, path := range registry.files {
			entries, err := readRegistry(path)
			if err != nil {
				fmt.Fprintf(stderr, "gxpaudit-verify: %s %s: %v\n", registry.flag, path, err)
				return 2
			}
			*registry.into = append(*registry.into, entries...)
		}
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
	return report.ExitCode()
}

// readRegistry reads a registry file: one entry object (KEY.signer.json) or a list of them, each with a key_id
// that is the id of its public_key.
func readRegistry(path string) ([]auditverify.RegistryEntry, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var entries []auditverify.RegistryEntry
	if err := json.Unmarshal(data, &entries); err != nil {
		var one auditverify.RegistryEntry
		if err := json.Unmarshal(data, &one); err != nil {
			return nil, fmt.Errorf("not a registry entry {printed_name, user_id, key_id, public_key}: %w", err)
		}
		entries = []auditverify.RegistryEntry{one}
	}
	for _, e := range entries {
		key, err := auditformat.ParsePublicKey([]byte(e.PublicKey))
		if err != nil || auditformat.KeyID(key) != e.KeyID || e.PrintedName == "" || e.UserID == "" {
			return nil, fmt.Errorf("entry for %q: key_id must be the id of public_key, printed_name and user_id set", e.KeyID)
		}
	}
	return entries, nil
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

// printReport writes the human-readable report. Every string that comes from the trail is passed through shown, so
// control and bidi characters in it (an ANSI escape in a printed name or reason, U+202E in a user id) cannot repaint
// or reorder the terminal's lines, the verdict line included.
func printReport(w io.Writer, r *auditverify.Report) {
	for _, s := range r.Streams {
		last := "none"
		if s.LastSeq != nil {
			last = fmt.Sprint(*s.LastSeq)
		}
		fmt.Fprintf(w, "stream %s: %d records in %d files, last seq %s, %d checkpoints (%d signed), keys %s\n",
			shown(s.Stream), s.Records, len(s.Files), last, s.Checkpoints, s.SignedCheckpoints, s.KeySource)
		for _, note := range s.Notes {
			fmt.Fprintf(w, "  note: %s\n", shown(note))
		}
	}
	for _, m := range r.Part11 {
		linked := ""
		if !m.Linked {
			linked = " (NOT bound to that record)"
		}
		if m.Kind == "signature" {
			fmt.Fprintf(w, "signature %s seq %d: %s (%s), %s, signed %s, meaning %s, reason %q%s\n", shown(m.Stream), m.Seq,
				shown(m.PrintedName), shown(m.UserID), shown(m.Record), shown(m.Time), shown(m.Meaning), shown(m.Reason), linked)
		} else {
			fmt.Fprintf(w, "correction %s seq %d: %s at %s by %s (%s), reason %q%s\n", shown(m.Stream), m.Seq,
				shown(m.Record), shown(m.Path), shown(m.PrintedName), shown(m.UserID), shown(m.Reason), linked)
		}
	}
	for _, p := range r.Problems {
		where := shown(p.File)
		if p.Line != nil {
			where += fmt.Sprintf(":%d", *p.Line)
		}
		seq := ""
		if p.Seq != nil {
			seq = fmt.Sprintf(" seq %d", *p.Seq)
		}
		fmt.Fprintf(w, "PROBLEM %s%s: %s: %s\n", where, seq, p.Kind, shown(p.Detail))
	}
	for _, note := range r.Notes {
		fmt.Fprintf(w, "note: %s\n", shown(note))
	}
	fmt.Fprintf(w, "%s: %d records in %d files, %d problem(s)\n", r.Verdict, r.Records, r.Files, len(r.Problems))
}

// shown escapes control characters (C0, DEL, C1) and bidirectional formatting characters as \uXXXX.
func shown(s string) string {
	var b strings.Builder
	for _, c := range s {
		switch {
		case c < 0x20 || (c >= 0x7f && c < 0xa0) || c == 0x061c || c == 0x200e || c == 0x200f ||
			(c >= 0x202a && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069) || c == utf8.RuneError:
			fmt.Fprintf(&b, "\\u%04x", c)
		default:
			b.WriteRune(c)
		}
	}
	return b.String()
}
