package tlog_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	protorekor "github.com/sigstore/protobuf-specs/gen/pb-go/rekor/v1"
	rekorverify "github.com/sigstore/rekor-tiles/v2/pkg/verify"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/transparency-dev/tessera/client"
	"k8s.io/klog/v2"

	"github.com/hallmark-dev/hallmark/bundle"
	"github.com/hallmark-dev/hallmark/controlplane"
	"github.com/hallmark-dev/hallmark/controlplane/planetest"
	"github.com/hallmark-dev/hallmark/tlog"
	"github.com/hallmark-dev/hallmark/verifier"
)

// appendSettings are what BenchmarkAppend compares: tlog.Config's defaults
// (CheckpointInterval 100ms, BatchMaxAge 100ms, BatchMaxSize 1024), the same
// in a process whose garbage collector runs less often (GOGC=400, as
// `hallmark serve` runs; set here with debug.SetGCPercent), and the previous
// default batch age of 10ms.
var appendSettings = []struct {
	name string
	cfg  tlog.Config
	gc   int
}{
	{"age=10ms", tlog.Config{BatchMaxAge: 10 * time.Millisecond}, 100},
	{"default", tlog.Config{}, 100},
	{"default+GOGC=400", tlog.Config{}, 400},
}

// appenders are the numbers of concurrent signers BenchmarkAppend runs: the
// issue's 1, 16 and 64, then more to find where throughput stops growing.
var appenders = []int{1, 16, 64, 256, 1024, 2048, 4096}

// BenchmarkAppend measures logged signatures per second with n concurrent
// signers, each looping: sign a fresh digest with its own ECDSA P-256 key,
// build the entry with tlog.HashedRekord (which verifies the signature),
// Append it and wait until a published checkpoint commits to it. One op is
// one such signature.
//
// A signer that waits for durability is latency-bound: throughput is about
// n / latency, and latency is at least one checkpoint interval (Tessera's
// POSIX driver refuses intervals under 100ms). Each run uses a fresh log in a
// temporary directory and measures a steady state: the first 2n ops warm
// up, and the signers keep appending until b.N more ops have completed.
// Metrics, over those b.N ops: appends/s (ns/op is its inverse); the p50,
// p99 and maximum latency of one op in milliseconds; the process CPU time
// per op in microseconds (user and system, all goroutines: Tessera's
// included) and the average number of cores busy.
func BenchmarkAppend(b *testing.B) {
	quietTessera(b)
	for _, s := range appendSettings {
		b.Run(s.name, func(b *testing.B) {
			defer debug.SetGCPercent(debug.SetGCPercent(s.gc))
			for _, n := range appenders {
				b.Run(fmt.Sprintf("signers=%d", n), func(b *testing.B) { benchAppend(b, s.cfg, n) })
			}
		})
	}
}

// BenchmarkAppendSweep explores tlog.Config one setting at a time: the
// checkpoint interval (with BatchMaxAge 10ms), the batch age (with
// CheckpointInterval 100ms) and the batch size, each with 1, 64, 1024 and
// 2048 signers. It is slow (about 7 minutes); bench/tlog.sh runs it only with
// SWEEP=1.
func BenchmarkAppendSweep(b *testing.B) {
	quietTessera(b)
	const ms = time.Millisecond
	var cfgs []tlog.Config
	for _, ci := range []time.Duration{10 * ms, 25 * ms, 50 * ms, 100 * ms, 250 * ms} {
		cfgs = append(cfgs, tlog.Config{CheckpointInterval: ci, BatchMaxAge: 10 * ms, BatchMaxSize: 1024})
	}
	cfgs = append(cfgs, tlog.Config{CheckpointInterval: 250 * ms, BatchMaxAge: 250 * ms, BatchMaxSize: 1024})
	for _, age := range []time.Duration{1 * ms, 25 * ms, 50 * ms, 75 * ms, 100 * ms, 150 * ms} {
		cfgs = append(cfgs, tlog.Config{CheckpointInterval: 100 * ms, BatchMaxAge: age, BatchMaxSize: 1024})
	}
	for _, size := range []uint{256, 4096} {
		cfgs = append(cfgs, tlog.Config{CheckpointInterval: 100 * ms, BatchMaxAge: 100 * ms, BatchMaxSize: size})
	}
	for _, cfg := range cfgs {
		name := fmt.Sprintf("interval=%v,age=%v,size=%d", cfg.CheckpointInterval, cfg.BatchMaxAge, cfg.BatchMaxSize)
		b.Run(name, func(b *testing.B) {
			for _, n := range []int{1, 64, 1024, 2048} {
				b.Run(fmt.Sprintf("signers=%d", n), func(b *testing.B) { benchAppend(b, cfg, n) })
			}
		})
	}
}

// minCheckpointInterval is the shortest checkpoint interval Tessera's POSIX
// driver accepts (tessera v1.0.4, storage/posix/files.go).
const minCheckpointInterval = 100 * time.Millisecond

func benchAppend(b *testing.B, cfg tlog.Config, signers int) {
	ctx := context.Background()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	cfg.Origin, cfg.Signer = origin, priv
	l, err := tlog.OpenPOSIX(ctx, b.TempDir(), cfg)
	if err != nil {
		if cfg.CheckpointInterval < minCheckpointInterval {
			b.Skip(err)
		}
		b.Fatal(err)
	}
	keys := make([]*ecdsa.PrivateKey, signers)
	for i := range keys {
		if keys[i], err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
			b.Fatal(err)
		}
	}
	// Each signer loops without pause from start to end. The measured
	// window runs from the 2n-th completed op (two rounds of warm-up) to
	// the (2n+b.N)-th, so that it sees a steady state at full concurrency:
	// throughput is counted by completions, and signers keep appending,
	// unmeasured, until the window closes.
	warm := int64(2 * signers)
	lat := make([][]time.Duration, signers)
	var next, done atomic.Int64
	var t0, t1 time.Time
	var cpu0, cpu1 time.Duration
	started, finished := make(chan struct{}), make(chan struct{})
	start := sync.OnceFunc(func() { t0, cpu0 = time.Now(), cpuTime(); close(started) })
	finish := sync.OnceFunc(func() { t1, cpu1 = time.Now(), cpuTime(); close(finished) })
	var wg sync.WaitGroup
	b.StopTimer()
	b.ResetTimer()
	for w := range signers {
		wg.Go(func() {
			k := keys[w]
			for {
				select {
				case <-finished:
					return
				default:
				}
				begin := time.Now()
				if _, err := appendSigned(ctx, l, k, uint64(next.Add(1))); err != nil {
					b.Error(err)
					start()
					finish()
					return
				}
				d := time.Since(begin)
				switch c := done.Add(1); {
				case c == warm:
					start()
				case c > warm && c <= warm+int64(b.N):
					lat[w] = append(lat[w], d)
					if c == warm+int64(b.N) {
						finish()
					}
				}
			}
		})
	}
	<-started
	b.StartTimer()
	<-finished
	b.StopTimer()
	wg.Wait()
	if b.Failed() {
		return
	}
	elapsed, cpu := t1.Sub(t0), cpu1-cpu0
	if err := l.Close(ctx); err != nil {
		b.Fatal(err)
	}
	all := slices.Concat(lat...)
	slices.Sort(all)
	b.ReportMetric(float64(len(all))/elapsed.Seconds(), "appends/s")
	b.ReportMetric(ms(percentile(all, 0.50)), "p50-ms")
	b.ReportMetric(ms(percentile(all, 0.99)), "p99-ms")
	b.ReportMetric(ms(percentile(all, 1)), "max-ms")
	b.ReportMetric(float64(cpu.Microseconds())/float64(max(len(all), 1)), "cpu-us/op")
	b.ReportMetric(cpu.Seconds()/elapsed.Seconds(), "cores")
}

// appendSigned signs the digest of artifact number i with k, builds its
// entry and appends it, as the control plane does for every signature.
func appendSigned(ctx context.Context, l *tlog.Log, k *ecdsa.PrivateKey, i uint64) (*protorekor.TransparencyLogEntry, error) {
	sum := sha256.Sum256(binary.BigEndian.AppendUint64([]byte("artifact "), i))
	sig, err := ecdsa.SignASN1(rand.Reader, k, sum[:])
	if err != nil {
		return nil, err
	}
	body, err := tlog.HashedRekord(sum[:], sig, k.Public())
	if err != nil {
		return nil, err
	}
	return l.Append(ctx, body)
}

// percentile returns the nearest-rank p-quantile of sorted.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(p*float64(len(sorted))+0.5) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// cpuTime returns the CPU time, user and system, the process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// quietTessera silences Tessera's klog lines for the benchmark, so that they
// do not break up the benchmark's result lines.
func quietTessera(b *testing.B) {
	klog.LogToStderr(false)
	klog.SetOutput(io.Discard)
	b.Cleanup(func() { klog.LogToStderr(true) })
}

// BenchmarkSignEntry is the CPU cost an append pays before it reaches the
// log: a fresh ECDSA P-256 signature and tlog.HashedRekord, which verifies it
// and encodes the canonical entry.
func BenchmarkSignEntry(b *testing.B) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	var i uint64
	for b.Loop() {
		i++
		sum := sha256.Sum256(binary.BigEndian.AppendUint64([]byte("artifact "), i))
		sig, err := ecdsa.SignASN1(rand.Reader, k, sum[:])
		if err != nil {
			b.Fatal(err)
		}
		if _, err := tlog.HashedRekord(sum[:], sig, k.Public()); err != nil {
			b.Fatal(err)
		}
	}
}

// proofLogSize is the number of entries in the log BenchmarkInclusionProof
// reads.
const proofLogSize = 100_000

// BenchmarkInclusionProof measures inclusion proofs per second made by the
// read client (tlog.Client over client.FileFetcher: tiles and entry bundles
// read from disk, through the page cache) from a log of 100,000 hashedrekord
// entries, built once before the timed runs (about 30 s).
//
// One op proves a random entry: fetch the tiles, build the proof, fetch the
// entry's bundle, hash the entry and verify the proof against the checkpoint.
// With "checkpoint=each" the op also fetches the checkpoint and verifies its
// signature, as a client without a cached checkpoint does; "checkpoint=cached"
// verifies it once. "readers=1" proves one entry at a time, "readers=parallel"
// runs GOMAXPROCS readers. GOGC=100 and GOGC=400 set the garbage collector's
// target with debug.SetGCPercent.
func BenchmarkInclusionProof(b *testing.B) {
	quietTessera(b)
	ctx := context.Background()
	dir := b.TempDir()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	if err := fillLog(ctx, dir, priv, proofLogSize); err != nil {
		b.Fatal(err)
	}
	b.Logf("built a log of %d entries in %v", proofLogSize, time.Since(start).Round(time.Millisecond))
	v, err := tlog.NewNoteVerifier(origin, pub)
	if err != nil {
		b.Fatal(err)
	}
	c := tlog.NewClient(client.FileFetcher{Root: dir}, origin, v)
	cp, _, err := c.Checkpoint(ctx)
	if err != nil {
		b.Fatal(err)
	}
	if cp.Size != proofLogSize {
		b.Fatalf("checkpoint size %d, want %d", cp.Size, proofLogSize)
	}
	prove := func(each bool) error {
		cp := cp
		if each {
			var err error
			if cp, _, err = c.Checkpoint(ctx); err != nil {
				return err
			}
		}
		_, err := c.InclusionProof(ctx, mrand.Uint64N(cp.Size), cp)
		return err
	}
	for _, gc := range []int{100, 400} {
		for _, each := range []bool{true, false} {
			name := fmt.Sprintf("GOGC=%d/checkpoint=%s", gc, map[bool]string{true: "each", false: "cached"}[each])
			b.Run(name+"/readers=1", func(b *testing.B) {
				defer debug.SetGCPercent(debug.SetGCPercent(gc))
				for b.Loop() {
					if err := prove(each); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "proofs/s")
			})
			b.Run(name+"/readers=parallel", func(b *testing.B) {
				defer debug.SetGCPercent(debug.SetGCPercent(gc))
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						if err := prove(each); err != nil {
							b.Error(err)
							return
						}
					}
				})
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "proofs/s")
			})
		}
	}
}

// fillLog appends n signed entries to a new log in dir, many at a time.
func fillLog(ctx context.Context, dir string, logKey crypto.Signer, n int) error {
	defer debug.SetGCPercent(debug.SetGCPercent(400))
	l, err := tlog.OpenPOSIX(ctx, dir, tlog.Config{Origin: origin, Signer: logKey})
	if err != nil {
		return err
	}
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	var next atomic.Int64
	errs := make(chan error, 1)
	var wg sync.WaitGroup
	for range 2048 {
		wg.Go(func() {
			for i := next.Add(1); i <= int64(n); i = next.Add(1) {
				if _, err := appendSigned(ctx, l, k, uint64(i)); err != nil {
					select {
					case errs <- err:
					default:
					}
					return
				}
			}
		})
	}
	wg.Wait()
	if err := l.Close(ctx); err != nil {
		return err
	}
	select {
	case err := <-errs:
		return err
	default:
		return nil
	}
}

// BenchmarkVerifyEntry measures the transparency-log part of verifying a
// bundle offline: rekor-tiles' VerifyLogEntry checks the checkpoint's
// signature and the inclusion proof of the entry's canonical body in a tree
// of a few hundred entries.
func BenchmarkVerifyEntry(b *testing.B) {
	quietTessera(b)
	ctx := context.Background()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	l, err := tlog.OpenPOSIX(ctx, b.TempDir(), tlog.Config{Origin: origin, Signer: priv})
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close(ctx)
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	entries := make([]*protorekor.TransparencyLogEntry, 300)
	var wg sync.WaitGroup
	for i := range entries {
		wg.Go(func() {
			e, err := appendSigned(ctx, l, k, uint64(i))
			if err != nil {
				b.Error(err)
				return
			}
			entries[i] = e
		})
	}
	wg.Wait()
	if b.Failed() {
		b.FailNow()
	}
	e := entries[0]
	v, err := tlog.NewNoteVerifier(origin, pub)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if err := rekorverify.VerifyLogEntry(e, v); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(e.InclusionProof.Hashes)), "proof-hashes")
}

// BenchmarkVerifyBundle measures what the issue calls the time to verify a
// bundle with proof, checkpoint and timestamp: a key-signed bundle over a
// small file that the in-process control plane logged and timestamped
// (controlplane.Plane.Handle), checked by verifier.Verify against the control
// plane's trusted root and the key, as `hallmark verify --key` does after
// start-up: hash the file, check the signature, the log entry (checkpoint
// signature and inclusion proof) and the RFC 3161 timestamp.
func BenchmarkVerifyBundle(b *testing.B) {
	quietTessera(b)
	ctx := context.Background()
	p, home := planetest.New(b, controlplane.Options{})
	path := filepath.Join(home, "artifact.txt")
	content := []byte("hallmark verify benchmark\n")
	if err := os.WriteFile(path, content, 0o644); err != nil {
		b.Fatal(err)
	}
	data := planetest.Sign(b, p, string(content))[0]
	pub := planetest.PublicKey(b, p, controlplane.DefaultKey)
	rootJSON, err := p.TrustedRoot(ctx)
	if err != nil {
		b.Fatal(err)
	}
	bn, err := bundle.Parse(data)
	if err != nil {
		b.Fatal(err)
	}
	tr, err := root.NewTrustedRootFromJSON(rootJSON)
	if err != nil {
		b.Fatal(err)
	}
	vf, err := verifier.New(verifier.Trust{Roots: []*root.TrustedRoot{tr}, Keys: []crypto.PublicKey{pub}})
	if err != nil {
		b.Fatal(err)
	}
	policy := verifier.Policy{Key: true}
	for b.Loop() {
		if _, err := vf.Verify(bn, verifier.Artifact{Path: path}, policy); err != nil {
			b.Fatal(err)
		}
	}
}
