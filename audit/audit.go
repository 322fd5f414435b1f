// Package audit defines Hallmark's audit log: a hash chain of security-relevant
// events (signatures, token and role changes, key lifecycle, policy decisions,
// refusals), so that an entry cannot be changed, dropped or reordered without
// breaking every hash after it. Anchoring a chain head in a transparency log
// (action "audit.anchor") extends that to the whole past: whoever holds the
// database cannot rewrite history older than the last anchor unnoticed.
//
// # Format (version 1)
//
// An Event is serialized by Marshal to its canonical JSON: encoding/json of
// Event with Time in UTC (RFC 3339 with nanoseconds, trailing zeros dropped),
// fields in declaration order, Detail's keys sorted, empty optional fields
// omitted, HTML characters escaped as encoding/json does. The bytes are
// hashed and stored exactly as produced; they are never re-encoded.
//
// Entries carry sequence numbers 1, 2, 3, ... without gaps. Entry n's hash is
//
//	Hash(n) = SHA-256("hallmark-audit-v1\n" || Prev(n) || uint64be(n) || EventJSON(n))
//
// where Prev(n) is Hash(n-1), 32 bytes, and Prev(1) is Genesis, 32 zero
// bytes. The fixed-length prefix makes the encoding unambiguous: the event's
// JSON is everything after byte 18+32+8.
//
// # Invariants and errors
//
// Verify checks a run of consecutive entries from a trusted predecessor hash:
// sequence numbers consecutive, each Prev the hash before it, each Hash
// recomputed, and each Event exactly what its EventJSON encodes, canonically.
// The first entry that breaks any of these is named by a *ChainError. Marshal
// refuses events without a time, actor, action or a known outcome.
package audit

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"time"
)

// Event is one security-relevant action.
type Event struct {
	Time    time.Time         `json:"time"`   // UTC, RFC 3339 with nanoseconds in JSON
	Actor   string            `json:"actor"`  // e.g. "token:3f2a...", "oidc:https://issuer#sub", "local", "anonymous"
	Action  string            `json:"action"` // e.g. "sign", "token.issue", "key.rotate", "audit.anchor", "denied"
	Project string            `json:"project,omitempty"`
	Target  string            `json:"target,omitempty"`
	Outcome string            `json:"outcome"` // OutcomeOK, OutcomeDenied or OutcomeRefused
	Detail  map[string]string `json:"detail,omitempty"`
}

// Outcomes of an Event.
const (
	OutcomeOK      = "ok"      // the action was done
	OutcomeDenied  = "denied"  // the actor was not allowed to do it
	OutcomeRefused = "refused" // allowed, but refused by policy or bad input
)

// Entry is an Event at its place in the chain.
type Entry struct {
	Seq       int64
	Event     Event
	EventJSON []byte // the exact bytes hashed: Marshal(Event)
	Prev      []byte // hash of entry Seq-1, or Genesis; 32 bytes
	Hash      []byte // 32 bytes
}

// Genesis is the Prev of entry 1: 32 zero bytes. Do not modify it.
var Genesis = make([]byte, 32)

const domain = "hallmark-audit-v1\n"

// Marshal returns the canonical JSON of e, the bytes an entry hashes.
func Marshal(e Event) ([]byte, error) {
	switch {
	case e.Time.IsZero():
		return nil, fmt.Errorf("audit: event %q: no time", e.Action)
	case e.Action == "":
		return nil, fmt.Errorf("audit: event has no action")
	case e.Actor == "":
		return nil, fmt.Errorf("audit: event %q: no actor", e.Action)
	}
	switch e.Outcome {
	case OutcomeOK, OutcomeDenied, OutcomeRefused:
	default:
		return nil, fmt.Errorf("audit: event %q: outcome %q is not %q, %q or %q", e.Action, e.Outcome, OutcomeOK, OutcomeDenied, OutcomeRefused)
	}
	e.Time = e.Time.UTC()
	b, err := json.Marshal(e)
	if err != nil {
		return nil, fmt.Errorf("audit: event %q: %w", e.Action, err)
	}
	return b, nil
}

// Hash returns the hash of the entry seq with predecessor hash prev and
// canonical event JSON eventJSON, as defined in the package comment. prev
// must be 32 bytes (Genesis for seq 1); Hash panics otherwise, as that is a
// programming error: Verify checks lengths before hashing.
func Hash(prev []byte, seq int64, eventJSON []byte) []byte {
	if len(prev) != sha256.Size {
		panic(fmt.Sprintf("audit: Hash: prev is %d bytes, want 32", len(prev)))
	}
	h := sha256.New()
	h.Write([]byte(domain))
	h.Write(prev)
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], uint64(seq))
	h.Write(n[:])
	h.Write(eventJSON)
	return h.Sum(nil)
}

// ChainError reports the first entry that breaks a chain.
type ChainError struct {
	Seq    int64 // the entry's sequence number as it claims it
	Reason string
}

func (e *ChainError) Error() string {
	return fmt.Sprintf("audit: entry %d: %s", e.Seq, e.Reason)
}

// Verify checks that entries form a chain following the trusted hash prev:
// the hash of the entry before entries[0], or Genesis if entries[0] is entry 1.
// It returns nil for no entries (given a 32-byte prev), else a *ChainError
// naming the first broken entry. To continue verifying later entries, pass
// the last entry's Hash as prev.
func Verify(prev []byte, entries []Entry) error {
	if len(prev) != sha256.Size {
		seq := int64(0)
		if len(entries) > 0 {
			seq = entries[0].Seq
		}
		return &ChainError{Seq: seq, Reason: fmt.Sprintf("trusted predecessor hash is %d bytes, want 32", len(prev))}
	}
	for i, e := range entries {
		fail := func(format string, args ...any) error {
			return &ChainError{Seq: e.Seq, Reason: fmt.Sprintf(format, args...)}
		}
		switch {
		case e.Seq < 1:
			return fail("sequence number is not positive")
		case i > 0 && e.Seq != entries[i-1].Seq+1:
			return fail("follows entry %d", entries[i-1].Seq)
		case e.Seq == 1 && !bytes.Equal(prev, Genesis):
			return fail("entry 1 does not follow the genesis hash")
		case len(e.Prev) != sha256.Size:
			return fail("prev is %d bytes, want 32", len(e.Prev))
		case !bytes.Equal(e.Prev, prev):
			return fail("prev is not the hash of the entry before it")
		case len(e.Hash) != sha256.Size:
			return fail("hash is %d bytes, want 32", len(e.Hash))
		case !bytes.Equal(e.Hash, Hash(prev, e.Seq, e.EventJSON)):
			return fail("hash does not match its contents")
		}
		// The hash covers EventJSON; Event must be what EventJSON says,
		// and EventJSON must be canonical, so no two encodings of one
		// event can both verify.
		var parsed Event
		if err := json.Unmarshal(e.EventJSON, &parsed); err != nil {
			return fail("event JSON: %v", err)
		}
		if canon, err := Marshal(parsed); err != nil {
			return fail("event JSON: %v", err)
		} else if !bytes.Equal(canon, e.EventJSON) {
			return fail("event JSON is not canonical")
		}
		if mine, err := Marshal(e.Event); err != nil || !bytes.Equal(mine, e.EventJSON) {
			return fail("event does not match its JSON")
		}
		prev = e.Hash
	}
	return nil
}
