package ca_test

import (
	"crypto"
	"crypto/x509"
	"io"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hallmark-dev/hallmark/ca"
)

// countingSigner is a CA key that counts its signatures: one per certificate.
type countingSigner struct {
	crypto.Signer
	n atomic.Int64
}

func (s *countingSigner) Sign(rand io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	s.n.Add(1)
	return s.Signer.Sign(rand, digest, opts)
}

func newCountingCA(t *testing.T) (*ca.CA, *countingSigner) {
	t.Helper()
	s := &countingSigner{Signer: ecKey(t)}
	c := newCAWith(t, s, t0.AddDate(-1, 0, 0), t0.AddDate(1, 0, 0))
	s.n.Store(0) // the root's own signature
	return c, s
}

func TestCacheReuse(t *testing.T) {
	c, signer := newCountingCA(t)
	k := ca.NewCache(c, 0, 0)
	a, b := ecKey(t).Public(), ecKey(t).Public()
	other := ca.Identity{Project: "web", Builder: "linux-arm64"}

	first, err := k.Certificate(a, testID, t0)
	if err != nil {
		t.Fatal(err)
	}
	// A 10-minute certificate from t0-1m to t0+10m has 5.5 minutes to run at
	// half-life, t0+4m30s.
	tests := []struct {
		name    string
		pub     crypto.PublicKey
		id      ca.Identity
		now     time.Time
		reused  bool
		signers int64 // certificates issued so far
	}{
		{"same key and identity", a, testID, t0, true, 1},
		{"three minutes on", a, testID, t0.Add(3 * time.Minute), true, 1},
		{"just before half-life", a, testID, t0.Add(4*time.Minute + 29*time.Second), true, 1},
		{"other identity", a, other, t0, false, 2},
		{"other key", b, testID, t0, false, 3},
		{"clock gone back past NotBefore", a, testID, t0.Add(-2 * time.Minute), false, 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := k.Certificate(tt.pub, tt.id, tt.now)
			if err != nil {
				t.Fatal(err)
			}
			if (got == first) != tt.reused {
				t.Errorf("reused the first certificate: %v, want %v", got == first, tt.reused)
			}
			if n := signer.n.Load(); n != tt.signers {
				t.Errorf("%d certificates issued, want %d", n, tt.signers)
			}
		})
	}
}

func TestCacheRenewal(t *testing.T) {
	c, signer := newCountingCA(t)
	k := ca.NewCache(c, 10*time.Minute, 0)
	pub := ecKey(t).Public()
	first, err := k.Certificate(pub, testID, t0)
	if err != nil {
		t.Fatal(err)
	}
	renewAt := t0.Add(4*time.Minute + 30*time.Second) // half of the 11 minutes left
	second, err := k.Certificate(pub, testID, renewAt)
	if err != nil {
		t.Fatal(err)
	}
	if second == first {
		t.Fatal("certificate reused at its half-life")
	}
	if !second.NotBefore.Equal(renewAt.Add(-time.Minute)) {
		t.Errorf("renewed certificate from %v, want %v", second.NotBefore, renewAt.Add(-time.Minute))
	}
	if third, err := k.Certificate(pub, testID, renewAt.Add(time.Minute)); err != nil || third != second {
		t.Errorf("renewed certificate not reused: %v", err)
	}
	if n := signer.n.Load(); n != 2 {
		t.Errorf("%d certificates issued, want 2", n)
	}
	if k.Len() != 1 {
		t.Errorf("cache holds %d certificates, want 1", k.Len())
	}
}

func TestCacheEviction(t *testing.T) {
	c, signer := newCountingCA(t)
	k := ca.NewCache(c, 0, 2)
	keys := map[string]crypto.PublicKey{"A": ecKey(t).Public(), "B": ecKey(t).Public(), "C": ecKey(t).Public()}
	certs := map[string]*x509.Certificate{}
	steps := []struct {
		key    string
		reused bool
	}{
		{"A", false}, {"B", false}, {"A", true},
		{"C", false}, // evicts A, the oldest issued
		{"B", true}, {"C", true},
		{"A", false}, // evicts B
		{"C", true}, {"B", false},
	}
	for i, s := range steps {
		cert, err := k.Certificate(keys[s.key], testID, t0)
		if err != nil {
			t.Fatal(err)
		}
		if reused := cert == certs[s.key]; reused != s.reused {
			t.Errorf("step %d, key %s: reused %v, want %v", i, s.key, reused, s.reused)
		}
		certs[s.key] = cert
		if k.Len() > 2 {
			t.Fatalf("step %d: cache holds %d certificates, over 2", i, k.Len())
		}
	}
	if n := signer.n.Load(); n != 5 {
		t.Errorf("%d certificates issued, want 5", n)
	}
}

func TestCacheErrors(t *testing.T) {
	c, signer := newCountingCA(t)
	k := ca.NewCache(c, 0, 0)
	pub := ecKey(t).Public()
	for _, tt := range []struct {
		name string
		pub  crypto.PublicKey
		id   ca.Identity
		now  time.Time
	}{
		{"bad identity", pub, ca.Identity{Project: "p\n", Builder: "b"}, t0},
		{"no key", nil, testID, t0},
		{"after the root", pub, testID, t0.AddDate(5, 0, 0)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := k.Certificate(tt.pub, tt.id, tt.now); err == nil {
				t.Fatal("Certificate: no error")
			}
		})
	}
	if k.Len() != 0 {
		t.Errorf("cache holds %d entries after failures, want 0", k.Len())
	}
	if n := signer.n.Load(); n != 0 {
		t.Errorf("%d certificates issued, want 0", n)
	}
}

func TestNewCachePanics(t *testing.T) {
	c := newCA(t)
	for _, tt := range []struct {
		name     string
		ca       *ca.CA
		lifetime time.Duration
		max      int
	}{
		{"nil CA", nil, 0, 0},
		{"negative lifetime", c, -time.Second, 0},
		{"lifetime over maximum", c, ca.MaxLifetime + time.Second, 0},
		{"negative size", c, 0, -1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Error("NewCache did not panic")
				}
			}()
			ca.NewCache(tt.ca, tt.lifetime, tt.max)
		})
	}
}

// TestCacheConcurrent asks for certificates from many goroutines at once:
// each key and identity gets exactly one certificate, shared by all callers.
// Run it with -race.
func TestCacheConcurrent(t *testing.T) {
	c, signer := newCountingCA(t)
	const keys, callers = 8, 64
	k := ca.NewCache(c, 0, keys)
	pubs := make([]crypto.PublicKey, keys)
	for i := range pubs {
		pubs[i] = ecKey(t).Public()
	}
	got := make([][]*x509.Certificate, keys)
	for i := range got {
		got[i] = make([]*x509.Certificate, callers)
	}
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range keys {
		for j := range callers {
			wg.Go(func() {
				<-start
				cert, err := k.Certificate(pubs[i], testID, t0.Add(time.Duration(j)*time.Millisecond))
				if err != nil {
					t.Error(err)
				}
				got[i][j] = cert
			})
		}
	}
	close(start)
	wg.Wait()
	for i := range keys {
		for j := range callers {
			if got[i][j] == nil || got[i][j] != got[i][0] {
				t.Fatalf("key %d: caller %d got another certificate than caller 0", i, j)
			}
		}
	}
	if n := signer.n.Load(); n != keys {
		t.Errorf("%d certificates issued for %d keys, want one each", n, keys)
	}

	// Renewal under load, with more keys than the cache holds.
	wg = sync.WaitGroup{}
	for i := range 4 * keys {
		wg.Go(func() {
			pub := pubs[i%keys]
			if i >= keys {
				pub = ecKey(t).Public()
			}
			for j := range 20 {
				if _, err := k.Certificate(pub, testID, t0.Add(time.Duration(j)*time.Minute)); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	if k.Len() > keys {
		t.Errorf("cache holds %d certificates, over %d", k.Len(), keys)
	}
}
