package auditformat

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"strconv"
)

// Checkpoint reasons (§7).
const (
	ReasonInterval = "interval"
	ReasonRotation = "rotation"
	ReasonClose    = "close"
	ReasonRecovery = "recovery"
)

// UnsignedKeyID is the key_id of unsigned checkpoints and of a writer without a signing key.
const UnsignedKeyID = "none"

// Statement is what a checkpoint signs: the stream's head (Seq, Head) in File at Time. Format is the stream's
// version; a version 2 statement also names the stream's identity (Genesis, its genesis record's hash) and its
// RetentionDays (§7).
type Statement struct {
	Format        string
	Stream        string
	Genesis       string
	RetentionDays string
	Seq           uint64
	Head          string
	File          string
	Time          string
	Reason        string
}

// AppendCanonical appends JCS(statement): members file, format, [genesis,] head, reason, [retention_days,] seq,
// stream, time.
func (s Statement) AppendCanonical(dst []byte) []byte {
	dst = append(dst, `{"file":`...)
	dst = AppendString(dst, s.File)
	dst = append(dst, `,"format":`...)
	dst = AppendString(dst, s.Format)
	if s.Format == FormatV2 {
		dst = append(dst, `,"genesis":`...)
		dst = AppendString(dst, s.Genesis)
	}
	dst = append(dst, `,"head":`...)
	dst = AppendString(dst, s.Head)
	dst = append(dst, `,"reason":`...)
	dst = AppendString(dst, s.Reason)
	if s.Format == FormatV2 {
		dst = append(dst, `,"retention_days":`...)
		dst = AppendString(dst, s.RetentionDays)
	}
	dst = append(dst, `,"seq":"`...)
	dst = strconv.AppendUint(dst, s.Seq, 10)
	dst = append(dst, `","stream":`...)
	dst = AppendString(dst, s.Stream)
	dst = append(dst, `,"time":`...)
	dst = AppendString(dst, s.Time)
	return append(dst, '}')
}

// SignedMessage is the exact byte string an Ed25519 checkpoint signature covers.
func SignedMessage(canonicalStatement []byte) []byte {
	return append([]byte(CheckpointDomain), canonicalStatement...)
}

// KeyID is "ed25519:" and the first 16 hex digits of SHA-256 of the raw public key.
func KeyID(pub ed25519.PublicKey) string {
	sum := sha256.Sum256(pub)
	return "ed25519:" + hex.EncodeToString(sum[:8])
}

// CheckpointBody appends the canonical checkpoint body {"key_id", "signature", "statement"}; key may be nil for
// an unsigned checkpoint.
func CheckpointBody(dst []byte, s Statement, key ed25519.PrivateKey) []byte {
	stmt := s.AppendCanonical(nil)
	keyID, sig := UnsignedKeyID, ""
	if key != nil {
		keyID = KeyID(key.Public().(ed25519.PublicKey))
		sig = hex.EncodeToString(ed25519.Sign(key, SignedMessage(stmt)))
	}
	dst = append(dst, `{"key_id":`...)
	dst = AppendString(dst, keyID)
	dst = append(dst, `,"signature":"`...)
	dst = append(dst, sig...)
	dst = append(dst, `","statement":`...)
	dst = append(dst, stmt...)
	return append(dst, '}')
}

// VerifyCheckpoint checks a hex signature over a canonical statement with a public key.
func VerifyCheckpoint(pub ed25519.PublicKey, canonicalStatement []byte, sigHex string) bool {
	return VerifyDomain(pub, CheckpointDomain, canonicalStatement, sigHex)
}

// VerifyDomain reports whether sigHex (128 lowercase hex digits: an upper-cased copy is an edit, §3) is pub's
// Ed25519 signature over domain || canonicalStatement.
func VerifyDomain(pub ed25519.PublicKey, domain string, canonicalStatement []byte, sigHex string) bool {
	if len(sigHex) != 2*ed25519.SignatureSize || hex.EncodeToString(mustDecode(sigHex)) != sigHex || len(pub) != ed25519.PublicKeySize {
		return false
	}
	return ed25519.Verify(pub, append([]byte(domain), canonicalStatement...), mustDecode(sigHex))
}

func mustDecode(s string) []byte {
	b, _ := hex.DecodeString(s)
	return b
}

// ParsePrivateKey reads a signing key file: 64 hex digits of the raw 32-byte Ed25519 seed (surrounding
// whitespace allowed), or a PEM "PRIVATE KEY" block (PKCS #8, as `openssl genpkey -algorithm ed25519` writes).
func ParsePrivateKey(data []byte) (ed25519.PrivateKey, error) {
	text := bytes.TrimSpace(data)
	if len(text) == 2*ed25519.SeedSize {
		seed, err := hex.DecodeString(string(text))
		if err == nil {
			return ed25519.NewKeyFromSeed(seed), nil
		}
	}
	block, _ := pem.Decode(text)
	if block == nil {
		return nil, errors.New("neither 64 hex digits of an Ed25519 seed nor a PEM private key")
	}
	parsed, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("PEM private key: %w", err)
	}
	key, ok := parsed.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("PEM private key is %T, not Ed25519", parsed)
	}
	return key, nil
}

// ParsePublicKey reads a trusted key: 64 hex digits of the raw public key, or a PEM "PUBLIC KEY" block.
func ParsePublicKey(data []byte) (ed25519.PublicKey, error) {
	text := bytes.TrimSpace(data)
	if len(text) == 2*ed25519.PublicKeySize {
		if raw, err := hex.DecodeString(string(text)); err == nil {
			return ed25519.PublicKey(raw), nil
		}
	}
	block, _ := pem.Decode(text)
	if block == nil {
		return nil, errors.New("neither 64 hex digits of an Ed25519 public key nor a PEM public key")
	}
	parsed, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("PEM public key: %w", err)
	}
	key, ok := parsed.(ed25519.PublicKey)
	if !ok {
		return nil, fmt.Errorf("PEM public key is %T, not Ed25519", parsed)
	}
	return key, nil
}
