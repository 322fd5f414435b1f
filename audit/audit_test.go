package audit_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hallmark-dev/hallmark/audit"
)

// chain builds n valid entries starting at entry 1.
func chain(t testing.TB, n int) []audit.Entry {
	t.Helper()
	prev := audit.Genesis
	var out []audit.Entry
	for i := 1; i <= n; i++ {
		ev := audit.Event{
			Time:    time.Date(2026, 1, 2, 3, 4, 5, i, time.UTC),
			Actor:   "token:abc",
			Action:  "sign",
			Project: "p",
			Target:  fmt.Sprintf("sha256:%064x", i),
			Outcome: audit.OutcomeOK,
			Detail:  map[string]string{"z": "last", "a": "<first>"},
		}
		js, err := audit.Marshal(ev)
		if err != nil {
			t.Fatal(err)
		}
		h := audit.Hash(prev, int64(i), js)
		out = append(out, audit.Entry{Seq: int64(i), Event: ev, EventJSON: js, Prev: prev, Hash: h})
		prev = h
	}
	return out
}

func TestHash(t *testing.T) {
	// The hash is the documented construction, spelled out independently.
	js := []byte(`{"time":"2026-01-02T03:04:05Z","actor":"local","action":"sign","outcome":"ok"}`)
	var seq [8]byte
	binary.BigEndian.PutUint64(seq[:], 1)
	want := sha256.Sum256(bytes.Join([][]byte{[]byte("hallmark-audit-v1\n"), make([]byte, 32), seq[:], js}, nil))
	if got := audit.Hash(audit.Genesis, 1, js); !bytes.Equal(got, want[:]) {
		t.Errorf("Hash = %x, want %x", got, want)
	}
	if bytes.Equal(audit.Hash(audit.Genesis, 1, js), audit.Hash(audit.Genesis, 2, js)) {
		t.Error("the sequence number does not change the hash")
	}
}

func TestMarshal(t *testing.T) {
	paris := time.FixedZone("CET", 3600)
	ev := audit.Event{
		Time:    time.Date(2026, 1, 2, 4, 4, 5, 120000000, paris),
		Actor:   "local",
		Action:  "token.issue",
		Outcome: audit.OutcomeOK,
		Detail:  map[string]string{"role": "signer", "expires": "never"},
	}
	got, err := audit.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"time":"2026-01-02T03:04:05.12Z","actor":"local","action":"token.issue","outcome":"ok","detail":{"expires":"never","role":"signer"}}`
	if string(got) != want {
		t.Errorf("Marshal =\n%s\nwant\n%s", got, want)
	}

	for _, tc := range []struct {
		name string
		ev   audit.Event
		want string
	}{
		{"no time", audit.Event{Actor: "a", Action: "sign", Outcome: "ok"}, "no time"},
		{"no actor", audit.Event{Time: time.Now(), Action: "sign", Outcome: "ok"}, "no actor"},
		{"no action", audit.Event{Time: time.Now(), Actor: "a", Outcome: "ok"}, "no action"},
		{"bad outcome", audit.Event{Time: time.Now(), Actor: "a", Action: "sign", Outcome: "maybe"}, `outcome "maybe"`},
		{"year 10000", audit.Event{Time: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC), Actor: "a", Action: "sign", Outcome: "ok"}, "year"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := audit.Marshal(tc.ev); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Marshal error = %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestVerify(t *testing.T) {
	good := chain(t, 5)
	if err := audit.Verify(audit.Genesis, good); err != nil {
		t.Fatalf("valid chain: %v", err)
	}
	if err := audit.Verify(good[1].Hash, good[2:]); err != nil {
		t.Fatalf("valid chain from entry 3: %v", err)
	}
	if err := audit.Verify(good[4].Hash, nil); err != nil {
		t.Fatalf("empty chain: %v", err)
	}

	// Each case breaks a copy of the chain; Verify must name entry seq.
	for _, tc := range []struct {
		name   string
		prev   []byte
		from   int // verify good[from:]
		break_ func(e []audit.Entry) []audit.Entry
		seq    int64
		reason string
	}{
		{"tampered event JSON", audit.Genesis, 0, func(e []audit.Entry) []audit.Entry {
			e[2].EventJSON = bytes.Replace(e[2].EventJSON, []byte(`"ok"`), []byte(`"denied"`), 1)
			return e
		}, 3, "hash does not match"},
		{"tampered event JSON, rehashed", audit.Genesis, 0, func(e []audit.Entry) []audit.Entry {
			e[2].EventJSON = bytes.Replace(e[2].EventJSON, []byte(`"ok"`), []byte(`"denied"`), 1)
			e[2].Event.Outcome = audit.OutcomeDenied
			e[2].Hash = audit.Hash(e[2].Prev, 3, e[2].EventJSON)
			return e
		}, 4, "prev is not the hash"},
		{"event differs from its JSON", audit.Genesis, 0, func(e []audit.Entry) []audit.Entry {
			e[1].Event.Actor = "someone else"
			return e
		}, 2, "event does not match its JSON"},
		{"non-canonical JSON", audit.Genesis, 0, func(e []audit.Entry) []audit.Entry {
			e[0].EventJSON = append([]byte(" "), e[0].EventJSON...)
			e[0].Hash = audit.Hash(audit.Genesis, 1, e[0].EventJSON)
			return e[:1]
		}, 1, "not canonical"},
		{"not JSON", audit.Genesis, 0, func(e []audit.Entry) []audit.Entry {
			e[0].EventJSON = []byte("{")
			e[0].Hash = audit.Hash(audit.Genesis, 1, e[0].EventJSON)
			return e[:1]
		}, 1, "event JSON"},
		{"reordered", audit.Genesis, 0, func(e []audit.Entry) []audit.Entry {
			e[1], e[2] = e[2], e[1]
			return e
		}, 3, "follows entry 1"},
		{"reordered, renumbered", audit.Genesis, 0, func(e []audit.Entry) []audit.Entry {
			e[1], e[2] = e[2], e[1]
			e[1].Seq, e[2].Seq = 2, 3
			return e
		}, 2, "prev is not the hash"},
		{"gap", audit.Genesis, 0, func(e []audit.Entry) []audit.Entry {
			return append(e[:2], e[3:]...)
		}, 4, "follows entry 2"},
		{"dropped first", audit.Genesis, 0, func(e []audit.Entry) []audit.Entry {
			return e[1:]
		}, 2, "prev is not the hash"},
		{"duplicate", audit.Genesis, 0, func(e []audit.Entry) []audit.Entry {
			return append(e[:3], e[2:]...)
		}, 3, "follows entry 3"},
		{"wrong trusted prev", good[0].Hash, 2, func(e []audit.Entry) []audit.Entry { return e }, 3, "prev is not the hash"},
		{"entry 1 after non-genesis", good[0].Hash, 0, func(e []audit.Entry) []audit.Entry { return e }, 1, "genesis"},
		{"short prev", audit.Genesis, 0, func(e []audit.Entry) []audit.Entry {
			e[0].Prev = e[0].Prev[:31]
			return e
		}, 1, "prev is 31 bytes"},
		{"short hash", audit.Genesis, 0, func(e []audit.Entry) []audit.Entry {
			e[4].Hash = nil
			return e
		}, 5, "hash is 0 bytes"},
		{"seq 0", audit.Genesis, 0, func(e []audit.Entry) []audit.Entry {
			e[0].Seq = 0
			return e
		}, 0, "not positive"},
		{"short trusted prev", []byte{1}, 0, func(e []audit.Entry) []audit.Entry { return e }, 1, "trusted predecessor"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			entries := tc.break_(chain(t, 5)[tc.from:])
			err := audit.Verify(tc.prev, entries)
			var ce *audit.ChainError
			if !errors.As(err, &ce) {
				t.Fatalf("Verify = %v, want a *ChainError", err)
			}
			if ce.Seq != tc.seq || !strings.Contains(ce.Reason, tc.reason) {
				t.Errorf("Verify = %v, want entry %d: ...%s...", err, tc.seq, tc.reason)
			}
		})
	}
}

// FuzzVerify feeds arbitrary event JSON through Verify: it must not panic,
// and whatever it accepts must be the canonical encoding of the event.
func FuzzVerify(f *testing.F) {
	for _, e := range chain(f, 2) {
		f.Add(e.EventJSON)
	}
	f.Add([]byte(`{"time":"2026-01-02T03:04:05+01:00","actor":"a","action":"b","outcome":"ok"}`))
	f.Add([]byte(`{"time":"2026-01-02T03:04:05Z","actor":"a","action":"b","outcome":"ok","detail":{}}`))
	f.Fuzz(func(t *testing.T, js []byte) {
		var ev audit.Event
		json.Unmarshal(js, &ev)
		e := audit.Entry{Seq: 1, Event: ev, EventJSON: js, Prev: audit.Genesis, Hash: audit.Hash(audit.Genesis, 1, js)}
		if audit.Verify(audit.Genesis, []audit.Entry{e}) != nil {
			return
		}
		if canon, err := audit.Marshal(ev); err != nil || !bytes.Equal(canon, js) {
			t.Fatalf("accepted non-canonical %q", js)
		}
	})
}

func ExampleVerify() {
	prev := audit.Genesis
	var entries []audit.Entry
	for i, action := range []string{"key.generate", "sign"} {
		ev := audit.Event{
			Time:    time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
			Actor:   "local",
			Action:  action,
			Outcome: audit.OutcomeOK,
		}
		js, _ := audit.Marshal(ev)
		seq := int64(i + 1)
		h := audit.Hash(prev, seq, js)
		entries = append(entries, audit.Entry{Seq: seq, Event: ev, EventJSON: js, Prev: prev, Hash: h})
		prev = h
	}
	fmt.Printf("%s\n", entries[1].EventJSON)
	fmt.Println(hex.EncodeToString(entries[1].Hash)[:16], audit.Verify(audit.Genesis, entries))

	entries[0].Event.Outcome = audit.OutcomeDenied
	fmt.Println(audit.Verify(audit.Genesis, entries))
	// Output:
	// {"time":"2026-01-02T03:04:05Z","actor":"local","action":"sign","outcome":"ok"}
	// 939ed5d08f2b0138 <nil>
	// audit: entry 1: event does not match its JSON
}
