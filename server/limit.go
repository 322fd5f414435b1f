package server

import (
	"sync"
	"time"
)

// limiter is a token bucket per key (a credential's hash, or a client
// address). It lives in each replica's memory: with N replicas behind a
// balancer a credential gets up to N times the rate, which bounds abuse
// without shared state. Idle buckets are dropped so that the map stays small.
type limiter struct {
	rate  float64 // tokens per second
	burst float64

	mu      sync.Mutex
	buckets map[string]*bucket
	swept   time.Time
}

type bucket struct {
	tokens, rate, burst float64
	last                time.Time
}

// maxBuckets bounds the limiter's memory under a flood of distinct keys; past
// it, idle buckets are swept at once.
const maxBuckets = 100_000

func newLimiter(rate float64, burst int) *limiter {
	return &limiter{rate: rate, burst: float64(burst), buckets: map[string]*bucket{}, swept: time.Now()}
}

// allow takes one token from key's bucket, at the limiter's rate and
// burst, if there is one.
func (l *limiter) allow(key string) bool {
	return l.take(key, l.rate, l.burst)
}

// take takes one token from key's bucket, which refills at rate up to
// burst, if there is one.
func (l *limiter) take(key string, rate, burst float64) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.bucket(key, rate, burst)
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// empty reports whether key's bucket has no token, without taking one.
func (l *limiter) empty(key string, rate, burst float64) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.bucket(key, rate, burst).tokens < 1
}

// bucket returns key's bucket, refilled to now. l.mu is held.
func (l *limiter) bucket(key string, rate, burst float64) *bucket {
	now := time.Now()
	if now.Sub(l.swept) > time.Minute || len(l.buckets) >= maxBuckets {
		l.sweep(now)
	}
	b, ok := l.buckets[key]
	if !ok {
		b = &bucket{tokens: burst, last: now, rate: rate, burst: burst}
		l.buckets[key] = b
	}
	b.tokens = min(burst, b.tokens+now.Sub(b.last).Seconds()*rate)
	b.last = now
	return b
}

// sweep drops the buckets that have refilled: forgetting them changes
// nothing.
func (l *limiter) sweep(now time.Time) {
	for k, b := range l.buckets {
		if b.tokens+now.Sub(b.last).Seconds()*b.rate >= b.burst {
			delete(l.buckets, k)
		}
	}
	l.swept = now
}
