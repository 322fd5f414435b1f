// Command loadgen drives a Hallmark control plane server ('hallmark serve')
// with sign requests over HTTP and reports what it sustained: requests and
// signatures per second, latency percentiles, errors by status.
//
// Each of -c clients loops on one keep-alive connection: POST
// /api/v1/op/sign with a fresh api.Nonce and -items random SHA-256 digests,
// waits for the response (every bundle in it is signed, logged with an
// inclusion proof and checkpoint, and timestamped), and sends the next.
// Requests completing during the first -warmup are not counted; those
// completing in the -d after it are. A response counts as a success only if
// it is 200 and holds one bundle per item.
//
// With -verify-sample N, the first N bundles of the measured window are
// verified offline after the run, against the server's trusted root (GET
// /api/v1/trusted-root) and the signing key (-key, the PEM that 'hallmark
// key export-public' prints), with the repository's verifier package.
//
// Usage:
//
//	go run ./bench/loadgen -url http://127.0.0.1:8080 -token "$TOKEN" [-c 64] [-d 20s] [-warmup 5s] [-items 1] [-json]
//
// The token may also come from $HALLMARK_TOKEN. Output is a report for people
// on stdout, or with -json one JSON object (bench/serve.sh reads it).
package main

import (
	"bytes"
	"context"
	"crypto"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/sigstore/sigstore-go/pkg/root"

	"github.com/hallmark-dev/hallmark/api"
	"github.com/hallmark-dev/hallmark/bundle"
	"github.com/hallmark-dev/hallmark/digest"
	"github.com/hallmark-dev/hallmark/limit"
	"github.com/hallmark-dev/hallmark/verifier"
)

type config struct {
	url, token, project, key, keyFile string
	clients, items, verifySample      int
	duration, warmup, timeout         time.Duration
	jsonOut                           bool
}

// sample is one signed item kept for verification after the run.
type sample struct {
	digest digest.SHA256
	bundle []byte
}

// worker is one client's tallies for the measured window.
type worker struct {
	lat     []time.Duration
	ok      int
	status  map[string]int
	samples []sample
	perSec  []int
	bytesIn int64
}

// Result is the report, also as JSON.
type Result struct {
	URL          string         `json:"url"`
	Clients      int            `json:"clients"`
	Items        int            `json:"items"`
	Seconds      float64        `json:"seconds"`
	Requests     int            `json:"requests"`  // successful, completed in the window
	ReqPerSec    float64        `json:"reqPerSec"` // successful requests / window
	SigPerSec    float64        `json:"sigPerSec"`
	P50ms        float64        `json:"p50ms"`
	P90ms        float64        `json:"p90ms"`
	P99ms        float64        `json:"p99ms"`
	MaxMs        float64        `json:"maxMs"`
	Errors       map[string]int `json:"errors"` // by HTTP status or "transport"
	SecMin       int            `json:"secMin"` // successful requests in the slowest second
	SecMax       int            `json:"secMax"`
	ClientCPU    float64        `json:"clientCPU"` // cores this process used during the run
	RespBytes    float64        `json:"respBytesPerReq"`
	Verified     int            `json:"verified"`
	VerifyFailed int            `json:"verifyFailed"`
	VerifyError  string         `json:"verifyError,omitempty"`
}

func main() {
	var c config
	flag.StringVar(&c.url, "url", "http://127.0.0.1:8080", "the server's base URL")
	flag.StringVar(&c.token, "token", os.Getenv("HALLMARK_TOKEN"), "bearer token (default $HALLMARK_TOKEN)")
	flag.StringVar(&c.project, "project", "default", "the project to sign for")
	flag.StringVar(&c.key, "key-name", "", "the signing key's name (default: the server's default)")
	flag.IntVar(&c.clients, "c", 64, "concurrent clients, one connection each")
	flag.IntVar(&c.items, "items", 1, "digests per sign request")
	flag.DurationVar(&c.duration, "d", 20*time.Second, "measured duration")
	flag.DurationVar(&c.warmup, "warmup", 5*time.Second, "warm-up before the measured window")
	flag.DurationVar(&c.timeout, "timeout", 60*time.Second, "timeout of one request")
	flag.IntVar(&c.verifySample, "verify-sample", 0, "verify this many returned bundles offline after the run")
	flag.StringVar(&c.keyFile, "key", "", "PEM public key of the signing key, for -verify-sample")
	flag.BoolVar(&c.jsonOut, "json", false, "print the result as one JSON object")
	cpuProfile := flag.String("cpuprofile", "", "write this process's CPU profile to the file")
	flag.Parse()
	if err := check(&c); err != nil {
		fmt.Fprintf(os.Stderr, "loadgen: %v\n", err)
		os.Exit(2)
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			fmt.Fprintf(os.Stderr, "loadgen: %v\n", err)
			os.Exit(2)
		}
		pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}
	res, err := run(c)
	if err != nil {
		pprof.StopCPUProfile() // os.Exit skips the deferred one
		fmt.Fprintf(os.Stderr, "loadgen: %v\n", err)
		os.Exit(1)
	}
	if c.jsonOut {
		json.NewEncoder(os.Stdout).Encode(res)
	} else {
		report(os.Stdout, res)
	}
	if res.Requests == 0 || res.VerifyFailed > 0 || res.VerifyError != "" {
		pprof.StopCPUProfile()
		os.Exit(1)
	}
}

func check(c *config) error {
	switch {
	case c.token == "":
		return errors.New("no token: give -token or set HALLMARK_TOKEN")
	case c.clients < 1 || c.items < 1 || c.items > api.MaxSignItems:
		return fmt.Errorf("-c must be at least 1 and -items between 1 and %d", api.MaxSignItems)
	case c.duration <= 0 || c.warmup < 0:
		return errors.New("-d must be positive and -warmup not negative")
	case c.verifySample > 0 && c.keyFile == "":
		return errors.New("-verify-sample needs -key, the signing key's PEM public key")
	}
	c.url = strings.TrimSuffix(c.url, "/")
	return nil
}

func run(c config) (*Result, error) {
	tr := &http.Transport{
		MaxIdleConns:        c.clients,
		MaxIdleConnsPerHost: c.clients,
		MaxConnsPerHost:     c.clients,
		IdleConnTimeout:     time.Minute,
		DisableCompression:  true,
	}
	hc := &http.Client{Transport: tr, Timeout: c.timeout}
	if err := probe(hc, c); err != nil {
		return nil, err
	}

	var ru0 syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru0)
	start := time.Now()
	t0 := start.Add(c.warmup)
	t1 := t0.Add(c.duration)
	var stop atomic.Bool
	workers := make([]*worker, c.clients)
	var wg sync.WaitGroup
	var sampled atomic.Int64
	seconds := int(c.duration / time.Second) // whole seconds of the window
	for i := range workers {
		w := &worker{status: map[string]int{}, perSec: make([]int, seconds+1)}
		workers[i] = w
		rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), uint64(i)))
		wg.Go(func() {
			for !stop.Load() {
				w.one(hc, c, rng, t0, t1, &sampled)
			}
		})
	}
	time.Sleep(time.Until(t1))
	stop.Store(true)
	wg.Wait()
	var ru1 syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru1)
	wall := time.Since(start)

	res := &Result{URL: c.url, Clients: c.clients, Items: c.items, Seconds: c.duration.Seconds(), Errors: map[string]int{}}
	var lat []time.Duration
	perSec := make([]int, seconds+1)
	var samples []sample
	var bytesIn int64
	for _, w := range workers {
		lat = append(lat, w.lat...)
		res.Requests += w.ok
		for k, n := range w.status {
			res.Errors[k] += n
		}
		for i, n := range w.perSec {
			perSec[i] += n
		}
		samples = append(samples, w.samples...)
		bytesIn += w.bytesIn
	}
	res.ReqPerSec = float64(res.Requests) / c.duration.Seconds()
	res.SigPerSec = res.ReqPerSec * float64(c.items)
	if res.Requests > 0 {
		res.RespBytes = float64(bytesIn) / float64(res.Requests)
	}
	slices.Sort(lat)
	if len(lat) > 0 {
		q := func(p float64) float64 {
			i := int(p * float64(len(lat)))
			if i >= len(lat) {
				i = len(lat) - 1
			}
			return float64(lat[i]) / 1e6
		}
		res.P50ms, res.P90ms, res.P99ms, res.MaxMs = q(0.50), q(0.90), q(0.99), float64(lat[len(lat)-1])/1e6
	}
	full := perSec[:seconds] // the last bucket is a partial second
	if len(full) > 0 {
		res.SecMin, res.SecMax = slices.Min(full), slices.Max(full)
	}
	cpu := time.Duration(ru1.Utime.Nano()+ru1.Stime.Nano()) - time.Duration(ru0.Utime.Nano()+ru0.Stime.Nano())
	res.ClientCPU = cpu.Seconds() / wall.Seconds()

	if c.verifySample > 0 {
		if len(samples) > c.verifySample {
			samples = samples[:c.verifySample]
		}
		res.Verified, res.VerifyFailed, res.VerifyError = verifySamples(hc, c, samples)
	}
	return res, nil
}

// probe sends one request, so that a bad token or URL fails at once.
func probe(hc *http.Client, c config) error {
	body, _, err := requestBody(c, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		return err
	}
	resp, err := post(hc, c, body)
	if err != nil {
		return fmt.Errorf("first request: %w", err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20)) // for the error text only
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("first request: %s: %s", resp.Status, bytes.TrimSpace(out))
	}
	return nil
}

// requestBody is a sign request of c.items random digests, and the first of
// them (the one a sample keeps).
func requestBody(c config, rng *rand.Rand) ([]byte, digest.SHA256, error) {
	req := api.SignRequest{Nonce: api.Nonce(), Project: c.project, Key: c.key, Items: make([]api.SignItem, c.items)}
	var first digest.SHA256
	for i := range req.Items {
		var d digest.SHA256
		for j := 0; j < len(d); j += 8 {
			v := rng.Uint64()
			for k := range 8 {
				d[j+k] = byte(v >> (8 * k))
			}
		}
		if i == 0 {
			first = d
		}
		req.Items[i].Digest = d.String()
	}
	b, err := json.Marshal(req)
	return b, first, err
}

func post(hc *http.Client, c config, body []byte) (*http.Response, error) {
	req, err := http.NewRequest(http.MethodPost, c.url+api.Sign.Path(), bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+c.token)
	return hc.Do(req)
}

// maxResponse bounds the body of a sign response of items bundles: 1 MiB
// each (real ones are a few KiB), and 1 MiB more.
func maxResponse(items int) int64 { return int64(items+1) << 20 }

// one sends one sign request and tallies it if it completes in [t0, t1).
func (w *worker) one(hc *http.Client, c config, rng *rand.Rand, t0, t1 time.Time, sampled *atomic.Int64) {
	body, first, err := requestBody(c, rng)
	if err != nil {
		panic(err) // marshalling a SignRequest cannot fail
	}
	begin := time.Now()
	resp, err := post(hc, c, body)
	var out []byte
	if err == nil {
		out, err = limit.Read(resp.Body, "response", maxResponse(c.items))
		resp.Body.Close()
	}
	end := time.Now()
	if end.Before(t0) || !end.Before(t1) {
		return
	}
	switch {
	case err != nil:
		w.status["transport"]++
		return
	case resp.StatusCode != http.StatusOK:
		w.status[fmt.Sprint(resp.StatusCode)]++
		return
	}
	var sr api.SignResponse
	if err := json.Unmarshal(out, &sr); err != nil || len(sr.Bundles) != c.items {
		w.status["200-malformed"]++
		return
	}
	w.ok++
	w.bytesIn += int64(len(out))
	w.lat = append(w.lat, end.Sub(begin))
	w.perSec[int(end.Sub(t0)/time.Second)]++
	if c.verifySample > 0 && sampled.Add(1) <= int64(c.verifySample) {
		w.samples = append(w.samples, sample{digest: first, bundle: sr.Bundles[0]})
	}
}

// verifySamples verifies bundles offline against the server's trusted root
// and the signing key.
func verifySamples(hc *http.Client, c config, samples []sample) (ok, failed int, errText string) {
	v, err := trustedVerifier(hc, c)
	if err != nil {
		return 0, 0, err.Error()
	}
	for _, s := range samples {
		b, err := bundle.Parse(s.bundle)
		if err == nil {
			_, err = v.Verify(b, verifier.Artifact{Digest: &s.digest}, verifier.Policy{Key: true})
		}
		if err != nil {
			failed++
			if errText == "" {
				errText = err.Error()
			}
			continue
		}
		ok++
	}
	return ok, failed, errText
}

func trustedVerifier(hc *http.Client, c config) (*verifier.Verifier, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.url+"/api/v1/trusted-root", nil)
	if err != nil {
		return nil, err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("trusted root: %w", err)
	}
	defer resp.Body.Close()
	raw, err := limit.Read(resp.Body, "body", limit.TrustedRoot)
	if err != nil || resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("trusted root: %s %v", resp.Status, err)
	}
	tr, err := root.NewTrustedRootFromJSON(raw)
	if err != nil {
		return nil, fmt.Errorf("trusted root: %w", err)
	}
	pemBytes, err := limit.ReadFile(c.keyFile, limit.Key)
	if err != nil {
		return nil, err
	}
	blk, _ := pem.Decode(pemBytes)
	if blk == nil {
		return nil, fmt.Errorf("%s: no PEM block", c.keyFile)
	}
	pub, err := x509.ParsePKIXPublicKey(blk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", c.keyFile, err)
	}
	return verifier.New(verifier.Trust{Roots: []*root.TrustedRoot{tr}, Keys: []crypto.PublicKey{pub}})
}

func report(out io.Writer, r *Result) {
	fmt.Fprintf(out, "%s: %d clients, %d item(s)/request, %.0f s measured\n", r.URL, r.Clients, r.Items, r.Seconds)
	fmt.Fprintf(out, "  requests/s    %.0f (%d ok; slowest second %d, fastest %d)\n", r.ReqPerSec, r.Requests, r.SecMin, r.SecMax)
	fmt.Fprintf(out, "  signatures/s  %.0f\n", r.SigPerSec)
	fmt.Fprintf(out, "  latency ms    p50 %.1f  p90 %.1f  p99 %.1f  max %.1f\n", r.P50ms, r.P90ms, r.P99ms, r.MaxMs)
	fmt.Fprintf(out, "  response      %.0f bytes/request\n", r.RespBytes)
	fmt.Fprintf(out, "  loadgen CPU   %.2f cores\n", r.ClientCPU)
	if len(r.Errors) == 0 {
		fmt.Fprintf(out, "  errors        none\n")
	}
	keys := make([]string, 0, len(r.Errors))
	for k := range r.Errors {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		fmt.Fprintf(out, "  errors        %s: %d\n", k, r.Errors[k])
	}
	if r.Verified > 0 || r.VerifyFailed > 0 || r.VerifyError != "" {
		fmt.Fprintf(out, "  verified      %d ok, %d failed %s\n", r.Verified, r.VerifyFailed, r.VerifyError)
	}
}
