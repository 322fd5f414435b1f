package notify

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Sender defaults and limits.
const (
	DefaultMaxAttempts = 5
	DefaultTimeout     = 10 * time.Second // per attempt
	backoffBase        = 500 * time.Millisecond
	backoffCap         = 30 * time.Second
	maxRetryAfter      = 60 * time.Second
	maxResponse        = 64 << 10
)

// Sender delivers events to targets. The zero value is ready to use.
type Sender struct {
	// Client sends the requests; nil means a client that does not
	// follow redirects (a 3xx is a failure, not retried).
	Client *http.Client
	// MaxAttempts is the number of attempts, DefaultMaxAttempts when 0.
	MaxAttempts int
	// Timeout bounds each attempt, DefaultTimeout when 0.
	Timeout time.Duration
	// Backoff is the wait before attempt+1 after attempt (1-based) failed;
	// nil means DefaultBackoff.
	Backoff func(attempt int) time.Duration
	// Sleep waits for d or until ctx is done, returning ctx.Err() then;
	// nil means a timer. Tests replace it.
	Sleep func(ctx context.Context, d time.Duration) error
}

// Result is what a delivery did.
type Result struct {
	// Skipped is true when the target does not want the event
	// (Target.Wants): nothing was sent.
	Skipped bool
	// Delivery is the X-Hallmark-Delivery header sent.
	Delivery string
	// Attempts is the number of requests made.
	Attempts int
	// Status is the last response's status code, 0 if none came.
	Status int
	// IssueKey and IssueURL identify the issue created, when the target
	// said: Jira's key and self, GitHub's "#number" and html_url.
	IssueKey, IssueURL string
}

// DefaultBackoff is exponential from 500 ms with full jitter, capped at
// 30 s: a uniformly random duration in [0, min(30 s, 500 ms * 2^(attempt-1))].
func DefaultBackoff(attempt int) time.Duration {
	d := backoffCap
	if attempt < 1 {
		attempt = 1
	}
	if attempt <= 16 {
		d = min(backoffCap, backoffBase<<(attempt-1))
	}
	return rand.N(d + 1)
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

var defaultClient = &http.Client{
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

// Send renders e for t and POSTs it, retrying as the package comment says.
// It returns what it did even when it fails. Errors name the target and the
// last status; they never carry the target's URL or header values.
func (s *Sender) Send(ctx context.Context, t Target, e Event) (Result, error) {
	var res Result
	body, ctype, err := Render(t, e)
	if err != nil {
		return res, err
	}
	if !t.Wants(e) {
		res.Skipped = true
		return res, nil
	}
	res.Delivery = DeliveryID(t, e)
	client := s.Client
	if client == nil {
		client = defaultClient
	}
	attempts := s.MaxAttempts
	if attempts <= 0 {
		attempts = DefaultMaxAttempts
	}
	timeout := s.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	backoff := s.Backoff
	if backoff == nil {
		backoff = DefaultBackoff
	}
	wait := s.Sleep
	if wait == nil {
		wait = sleep
	}
	fail := func(format string, args ...any) error {
		return fmt.Errorf("notify: target %s: "+format, append([]any{t.Name}, args...)...)
	}
	var last error
	for {
		res.Attempts++
		status, hdr, respBody, err := s.attempt(ctx, client, timeout, t, e, res.Delivery, body, ctype)
		res.Status = status
		var delay time.Duration
		honoured := false
		switch {
		case err != nil && ctx.Err() != nil:
			return res, fail("attempt %d: %w", res.Attempts, ctx.Err())
		case err != nil:
			last = fail("attempt %d: %w", res.Attempts, err)
		case status >= 200 && status < 300:
			res.IssueKey, res.IssueURL = issue(t.Format, respBody)
			return res, nil
		case status == http.StatusTooManyRequests || status >= 500:
			last = fail("attempt %d: status %d", res.Attempts, status)
			delay, honoured = retryAfter(hdr.Get("Retry-After"), time.Now())
		default:
			return res, fail("status %d%s (not retried)", status, excerpt(respBody, t))
		}
		if res.Attempts >= attempts {
			return res, fmt.Errorf("%w: giving up after %d attempts", last, res.Attempts)
		}
		if !honoured {
			delay = backoff(res.Attempts)
		}
		if err := wait(ctx, delay); err != nil {
			return res, fmt.Errorf("%w: waiting to retry: %w", last, err)
		}
	}
}

// attempt makes one request; err is a network error, already stripped of
// the URL.
func (s *Sender) attempt(ctx context.Context, client *http.Client, timeout time.Duration, t Target, e Event, delivery string, body []byte, ctype string) (int, http.Header, []byte, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.URL, bytes.NewReader(body))
	if err != nil {
		return 0, nil, nil, errors.New("cannot build the request")
	}
	req.Header.Set("Content-Type", ctype)
	req.Header.Set("User-Agent", "hallmark-notify/1")
	switch t.Format {
	case GitHub:
		req.Header.Set("Accept", "application/vnd.github+json")
	default:
		req.Header.Set("Accept", "application/json")
	}
	for _, k := range slices.Sorted(maps.Keys(t.Headers)) {
		req.Header.Set(k, t.Headers[k])
	}
	req.Header.Set("X-Hallmark-Delivery", delivery)
	req.Header.Set("X-Hallmark-Event", e.Type)
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, nil, stripURL(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil && resp.StatusCode >= 200 && resp.StatusCode < 300 {
		// The issue may exist: keep the status, drop the partial body.
		data = nil
	}
	return resp.StatusCode, resp.Header, data, nil
}

// stripURL drops the request URL (which may carry a token) from a client
// error, keeping its cause.
func stripURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		if ue.Timeout() {
			return fmt.Errorf("%s: timeout: %w", strings.ToLower(ue.Op), ue.Err)
		}
		return fmt.Errorf("%s: %w", strings.ToLower(ue.Op), ue.Err)
	}
	return err
}

// excerpt is a short, one-line, printable part of a response body for an
// error message, with the secrets of t that the receiver may echo redacted:
// header values (and the credential alone, without its scheme, as in
// "Bearer x"), the URL, its path and query and each query value.
func excerpt(body []byte, t Target) string {
	var secrets []string
	for _, k := range slices.Sorted(maps.Keys(t.Headers)) {
		v := strings.TrimSpace(t.Headers[k])
		secrets = append(secrets, v)
		if _, cred, ok := strings.Cut(v, " "); ok {
			secrets = append(secrets, cred)
		}
	}
	secrets = append(secrets, t.URL)
	if u, err := url.Parse(t.URL); err == nil {
		secrets = append(secrets, u.RequestURI(), u.RawQuery)
		for _, vs := range u.Query() {
			secrets = append(secrets, vs...)
		}
	}
	// Longest first, so that a secret containing another is redacted whole.
	slices.SortFunc(secrets, func(a, b string) int { return cmp.Or(cmp.Compare(len(b), len(a)), cmp.Compare(a, b)) })
	s := plain(string(body))
	for _, v := range secrets {
		if len(v) >= 4 {
			s = strings.ReplaceAll(s, v, "[redacted]")
		}
	}
	s = strings.TrimSpace(truncate(s, 200))
	if s == "" {
		return ""
	}
	return ": " + strconv.Quote(s)
}

// retryAfter reads a Retry-After value, delay-seconds or an HTTP date
// (RFC 9110 section 10.2.3), capped at maxRetryAfter.
func retryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil || errors.Is(err, strconv.ErrRange) {
		if n < 0 {
			return 0, false
		}
		if n > int64(maxRetryAfter/time.Second) {
			return maxRetryAfter, true
		}
		return time.Duration(n) * time.Second, true
	}
	at, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	return min(maxRetryAfter, max(0, at.Sub(now))), true
}

// issue reads the created issue's key and URL from a Jira or GitHub
// response; anything else gives nothing.
func issue(format string, body []byte) (key, link string) {
	switch format {
	case Jira:
		var r struct {
			Key  string `json:"key"`
			Self string `json:"self"`
		}
		if json.Unmarshal(body, &r) == nil {
			return truncate(plain(r.Key), maxIdent), truncate(plain(r.Self), maxRef)
		}
	case GitHub:
		var r struct {
			Number  int64  `json:"number"`
			HTMLURL string `json:"html_url"`
		}
		if json.Unmarshal(body, &r) == nil {
			if r.Number > 0 {
				key = "#" + strconv.FormatInt(r.Number, 10)
			}
			return key, truncate(plain(r.HTMLURL), maxRef)
		}
	}
	return "", ""
}
