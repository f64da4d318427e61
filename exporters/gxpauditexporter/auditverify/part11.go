package auditverify

import (
	"crypto/ed25519"
	"fmt"
	"strconv"

	"github.com/gxp-otel/gxp-otel/exporters/gxpauditexporter/auditformat"
)

// The §12 checks (docs/audit-format.md): electronic signatures, corrections and purge tombstones. One
// part11Verifier per verification: the tombstones are read first (newPart11), the chain calls purged for an absent
// file and record for every accepted record of a reserved kind, and finish checks the references once every stream
// is read. Trust anchors by role (§1.1): writer keys vouch only for checkpoints (also those a tombstone embeds),
// the signer registry only for e-signatures, the purger registry only for tombstones. Not safe for concurrent use.

// RegistryEntry is one entry of a signer or purger registry (§12.1, §12.3): a key registered to an individual.
type RegistryEntry struct {
	PrintedName string `json:"printed_name"`
	UserID      string `json:"user_id"`
	KeyID       string `json:"key_id"`
	PublicKey   string `json:"public_key"`
}

type tombstone struct {
	entry, statement *auditformat.Value
}

type purgeCandidate struct {
	body auditformat.Value
	file string
	line int
}

// pendingReference is a signature or correction to check against the trail after every stream was read.
type pendingReference struct {
	kind      string
	body      auditformat.Value
	stream    string
	file      string
	line      int
	seq       int64
	refStream string
	refSeq    int64
	refHash   string
	hash      string // the record's own hash (a signature's, which e-signed decisions cite, §12.4)
}

type part11Verifier struct {
	dir            *trailDir
	trusted        map[string]ed25519.PublicKey
	signers        map[string]RegistryEntry
	purgers        map[string]RegistryEntry
	anyAnchor      bool
	tombstones     map[string]map[string]tombstone // stream -> plain file name -> its valid tombstone
	purgeProblems  map[string][2]string            // "file:line" of a purge record -> kind, detail
	identities     map[string][2]string            // key_id -> the first (printed_name, user_id) it signed as
	pending        []pendingReference
	decisions      []signedDecision
	manifestations []Manifestation
}

func newPart11(dir *trailDir, opts Options, trusted map[string]ed25519.PublicKey, retentionFiles []auditformat.ChainFile) *part11Verifier {
	p := &part11Verifier{dir: dir, trusted: trusted, signers: map[string]RegistryEntry{}, purgers: map[string]RegistryEntry{},
		tombstones: map[string]map[string]tombstone{}, purgeProblems: map[string][2]string{}, identities: map[string][2]string{}}
	for _, e := range opts.Signers {
		p.signers[e.KeyID] = e
	}
	for _, e := range opts.Purgers {
		p.purgers[e.KeyID] = e
	}
	p.anyAnchor = len(trusted) > 0 || len(p.signers) > 0 || len(p.purgers) > 0
	p.loadTombstones(retentionFiles)
	return p
}

func at(file string, line int) string { return file + ":" + strconv.Itoa(line) }

// loadTombstones finds the valid tombstones of §12.3 (conditions 1-7) among the intact purge records of the stream
// retention, and why each other purge record is not honoured.
func (p *part11Verifier) loadTombstones(files []auditformat.ChainFile) {
	var candidates []purgeCandidate
	p.intactRecords(files, func(rec *auditformat.Record, file string, line int) {
		if rec.Kind != "purge" || rec.Stream != retentionStream {
			return
		}
		if kind, detail := p.purgeProblem(&rec.Body, rec.Time); kind != "" {
			p.purgeProblems[at(file, line)] = [2]string{kind, detail}
			return
		}
		candidates = append(candidates, purgeCandidate{rec.Body, file, line})
	})
	valid := prefixClosed(candidates)
	for i := range candidates {
		c := &candidates[i]
		if !valid[i] {
			p.purgeProblems[at(c.file, c.line)] = [2]string{"bad-purge", "its files are not a prefix of the stream (a file before them is neither present nor purged)"}
			continue
		}
		statement := member(&c.body, "statement")
		stream := text(statement, "stream")
		if p.tombstones[stream] == nil {
			p.tombstones[stream] = map[string]tombstone{}
		}
		files := member(statement, "files")
		for j := range files.Items {
			cf, _ := auditformat.ParseChainFileName(text(&files.Items[j], "file"))
			if _, seen := p.tombstones[stream][cf.Plain()]; !seen {
				p.tombstones[stream][cf.Plain()] = tombstone{&files.Items[j], statement}
			}
		}
	}
}

// intactRecords calls fn with every record of files whose line passes the per-line checks.
func (p *part11Verifier) intactRecords(files []auditformat.ChainFile, fn func(rec *auditformat.Record, file string, line int)) {
	for _, cf := range files {
		f, err := p.dir.open(cf.Name())
		if err != nil {
			continue
		}
		_, _ = eachLine(f, cf.Compressed, func(number int, raw []byte, problem *readProblem) {
			if problem != nil || raw[len(raw)-1] != '\n' {
				return
			}
			if rec, bad, _ := auditformat.CheckLine(raw[:len(raw)-1]); bad == "" {
				fn(&rec, cf.Name(), number)
			}
		})
		f.Close()
	}
}

// purgeProblem applies conditions 2-6 of §12.3; kind "not-honoured" when no purger registry was given.
func (p *part11Verifier) purgeProblem(body *auditformat.Value, recorded string) (string, string) {
	if why := purgeShapeProblem(body); why != "" {
		return "bad-purge", why
	}
	s := member(body, "statement")
	keyID := text(s, "key_id")
	registered, ok := p.purgers[keyID]
	if !ok || registered.PublicKey != text(s, "public_key") {
		if len(p.purgers) > 0 {
			return "untrusted-key", keyID + " is not a registered purger (--purger)"
		}
		return "not-honoured", keyID + " cannot be checked: no purger registry"
	}
	who := member(s, "purged_by")
	if registered.PrintedName != text(who, "printed_name") || registered.UserID != text(who, "user_id") {
		return "bad-purge", keyID + " is registered to " + registered.UserID + ", not " + text(who, "user_id")
	}
	stated, _ := parseTime(text(s, "time"))
	recordedAt, _ := parseTime(recorded)
	if stated > recordedAt || text(s, "before") > text(s, "time") {
		return "bad-purge", "its time is later than the purge record's recorded time, or before is after time"
	}
	return p.embeddedProblem(s)
}

// embeddedProblem applies conditions 5 and 6: each file's embedded checkpoint is the writer's, signed by the key
// in force (anchored: a trusted writer key), and rebuilds the record with the file's last seq and hash.
func (p *part11Verifier) embeddedProblem(s *auditformat.Value) (string, string) {
	key := member(s, "key_in_force")
	files := member(s, "files")
	for i := range files.Items {
		entry := &files.Items[i]
		checkpoint := member(entry, "checkpoint")
		cf, _ := auditformat.ParseChainFileName(text(entry, "file"))
		plain := cf.Plain()
		inner, keyID, signature, ok := checkpointShape(checkpoint, "")
		if !ok || text(inner, "stream") != text(s, "stream") || text(inner, "file") != plain {
			return "bad-purge", plain + ": the embedded checkpoint is not a checkpoint of that file"
		}
		if text(inner, "format") == formatV2 && shorterRetention(text(s, "retention_days"), text(inner, "retention_days")) {
			// a purger may keep records longer than the stream's genesis says, never shorter (§12.3 condition 5)
			return "bad-purge", "retention_days " + text(s, "retention_days") + " is shorter than the stream's " + text(inner, "retention_days") + " (its genesis)"
		}
		seq, _ := strconv.ParseUint(text(inner, "seq"), 10, 64)
		head, _ := auditformat.ParseHash(text(inner, "head"))
		body, _ := auditformat.AppendCanonical(nil, checkpoint)
		_, digest := auditformat.EncodeRecord(nil, auditformat.Envelope{Kind: auditformat.KindCheckpoint, Stream: text(inner, "stream"),
			Seq: seq + 1, Prev: head, Time: text(inner, "time")}, body)
		if digest.Hex() != text(entry, "last_hash") || strconv.FormatUint(seq+1, 10) != text(entry, "last_seq") {
			return "bad-purge", plain + ": last_seq/last_hash are not those of its embedded checkpoint"
		}
		pub, _ := decodePublic(text(key, "public_key"))
		trustedKey := true
		if len(p.trusted) > 0 {
			trustedKey = p.trusted[text(key, "key_id")] != nil && string(p.trusted[text(key, "key_id")]) == string(pub)
		}
		if keyID != text(key, "key_id") || !trustedKey || pub == nil || !verifySignature(pub, inner, signature) {
			return "bad-purge", plain + ": the embedded checkpoint is not signed by the key in force"
		}
	}
	return "", ""
}

// shorterRetention says the decimal stated is a shorter period than the decimal of the stream (either unreadable:
// shorter, the safe answer).
func shorterRetention(stated, stream string) bool {
	a, errA := strconv.ParseUint(stated, 10, 63)
	b, errB := strconv.ParseUint(stream, 10, 63)
	return errA != nil || errB != nil || a < b
}

// prefixClosed applies condition 7: the least set of tombstones whose files each are 000001 or follow a file named
// by this tombstone or by one already in the set, per stream.
func prefixClosed(candidates []purgeCandidate) map[int]bool {
	valid := map[int]bool{}
	named := map[string]map[int]bool{}
	for changed := true; changed; {
		changed = false
		for i := range candidates {
			if valid[i] {
				continue
			}
			statement := member(&candidates[i].body, "statement")
			stream := text(statement, "stream")
			own := map[int]bool{}
			files := member(statement, "files")
			for j := range files.Items {
				cf, _ := auditformat.ParseChainFileName(text(&files.Items[j], "file"))
				own[cf.Index] = true
			}
			ok := true
			for index := range own {
				if index != 1 && !own[index-1] && !named[stream][index-1] {
					ok = false
				}
			}
			if ok {
				valid[i], changed = true, true
				if named[stream] == nil {
					named[stream] = map[int]bool{}
				}
				for index := range own {
					named[stream][index] = true
				}
			}
		}
	}
	return valid
}

// purgedGenesis is the stream identity (§7) a valid tombstone's embedded version 2 checkpoint names for the purged
// file 000001 of the stream, "" when there is none: the genesis record itself was purged.
func (p *part11Verifier) purgedGenesis(stream string) string {
	t, ok := p.tombstones[stream][auditformat.ChainFileName(stream, 1)]
	if !ok {
		return ""
	}
	inner := member(member(t.entry, "checkpoint"), "statement")
	if text(inner, "format") != formatV2 {
		return ""
	}
	return text(inner, "genesis")
}

// covers says a valid tombstone names the absent file.
func (p *part11Verifier) covers(stream, plain string) bool {
	_, ok := p.tombstones[stream][plain]
	return ok
}

// purged continues the chain across an absent file a valid tombstone names, as if it had been read (§12.3).
func (p *part11Verifier) purged(v *streamVerifier, plain string) bool {
	t, ok := p.tombstones[v.summary.Stream][plain]
	if !ok {
		return false
	}
	key := member(t.statement, "key_in_force")
	inner := member(member(t.entry, "checkpoint"), "statement")
	if text(inner, "format") == formatV2 && v.version == "" { // the genesis record was purged: its identity as sealed
		v.version, v.genesis, v.retention = formatV2, text(inner, "genesis"), text(inner, "retention_days")
	}
	lastSeq, _ := strconv.ParseInt(text(t.entry, "last_seq"), 10, 64)
	v.expected, v.lastHash = uint64(lastSeq)+1, text(t.entry, "last_hash")
	v.started, v.resync = true, false
	keyID := text(key, "key_id")
	if keyID != auditformat.UnsignedKeyID {
		v.keys[keyID], _ = decodePublic(text(key, "public_key"))
	}
	v.keyInForce = keyID
	v.noteKey(keyID)
	who := member(t.statement, "purged_by")
	v.summary.Notes = append(v.summary.Notes, fmt.Sprintf("%s (seq %s..%s) purged by policy at %s by %s (%s): %s", plain,
		text(t.entry, "first_seq"), text(t.entry, "last_seq"), text(t.statement, "time"), text(who, "printed_name"),
		text(who, "user_id"), text(t.statement, "reason")))
	return true
}
