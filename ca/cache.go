package ca

import (
	"container/list"
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"fmt"
	"sync"
	"time"
)

// DefaultCacheEntries is the size of a Cache made with maxEntries 0.
const DefaultCacheEntries = 4096

// Cache hands out certificates from a CA, reusing one certificate per public
// key and identity while more than half of its validity period is left at the
// time asked for, so that a signer making thousands of signatures a second
// does not ask for a certificate each time. A certificate is renewed, not
// reused, once half its validity has passed or when the time asked for is
// before its NotBefore.
//
// It is safe for concurrent use. While a certificate for a key and identity is
// being issued, other callers asking for the same one wait for it instead of
// issuing their own, and share its error if issuing fails; failures are not
// cached. It holds at most maxEntries certificates, dropping the one issued
// longest ago to make room.
type Cache struct {
	ca       *CA
	lifetime time.Duration
	max      int

	mu      sync.Mutex
	entries map[cacheKey]*entry
	order   *list.List // of *entry, oldest first
}

type cacheKey struct {
	spki             [sha256.Size]byte // SHA-256 of the DER SubjectPublicKeyInfo
	project, builder string
}

type entry struct {
	key   cacheKey
	elem  *list.Element // nil once out of the cache
	ready chan struct{} // closed once cert and err are set
	cert  *x509.Certificate
	err   error
}

// NewCache returns a Cache issuing certificates from c with lifetime (as
// Issue takes it: 0 means DefaultLifetime) and holding at most maxEntries of
// them (DefaultCacheEntries if 0). It panics if c is nil, lifetime is not
// between 0 and MaxLifetime, or maxEntries is negative.
func NewCache(c *CA, lifetime time.Duration, maxEntries int) *Cache {
	if c == nil || lifetime < 0 || lifetime > MaxLifetime || maxEntries < 0 {
		panic(fmt.Sprintf("ca: NewCache(%p, %v, %d): want a CA, a lifetime from 0 to %v and maxEntries from 0", c, lifetime, maxEntries, MaxLifetime))
	}
	if maxEntries == 0 {
		maxEntries = DefaultCacheEntries
	}
	return &Cache{ca: c, lifetime: lifetime, max: maxEntries, entries: make(map[cacheKey]*entry), order: list.New()}
}

// Root returns the certificate of the CA that issues the cache's
// certificates.
func (k *Cache) Root() *x509.Certificate { return k.ca.Root() }

// Certificate returns a certificate for pub naming id, valid at now with more
// than half its validity left: a cached one if there is one, else a new one
// from the CA's Issue, whose errors it returns.
func (k *Cache) Certificate(pub crypto.PublicKey, id Identity, now time.Time) (*x509.Certificate, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("ca: issue: key: %w", err)
	}
	key := cacheKey{spki: sha256.Sum256(der), project: id.Project, builder: id.Builder}
	for {
		k.mu.Lock()
		e := k.entries[key]
		if e == nil {
			break // with k.mu held
		}
		select {
		case <-e.ready:
			if e.err == nil && fresh(e.cert, now) {
				k.mu.Unlock()
				return e.cert, nil
			}
			k.remove(e) // stale: issue anew
			e = nil
		default:
		}
		if e == nil {
			break // with k.mu held
		}
		k.mu.Unlock()
		<-e.ready // issued by another call
		if e.err != nil {
			return nil, e.err
		}
		if fresh(e.cert, now) {
			return e.cert, nil
		}
		// Issued for a time far from now; look again.
	}
	e := &entry{key: key, ready: make(chan struct{})}
	for k.order.Len() >= k.max {
		k.remove(k.order.Front().Value.(*entry))
	}
	e.elem = k.order.PushBack(e)
	k.entries[key] = e
	k.mu.Unlock()

	e.cert, e.err = k.ca.Issue(pub, id, now, k.lifetime)
	close(e.ready)
	if e.err != nil {
		k.mu.Lock()
		k.remove(e)
		k.mu.Unlock()
	}
	return e.cert, e.err
}

// remove takes e out of the cache if it is still in it. k.mu must be held.
func (k *Cache) remove(e *entry) {
	if e.elem == nil {
		return
	}
	k.order.Remove(e.elem)
	e.elem = nil
	delete(k.entries, e.key)
}

// Len returns the number of certificates in the cache, including any being
// issued.
func (k *Cache) Len() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.order.Len()
}

// fresh reports whether cert is valid at now with more than half of its
// validity period left.
func fresh(cert *x509.Certificate, now time.Time) bool {
	if now.Before(cert.NotBefore) {
		return false
	}
	half := cert.NotAfter.Sub(cert.NotBefore) / 2
	return cert.NotAfter.Sub(now) > half
}
