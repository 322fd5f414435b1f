package notify

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// receiver is a local webhook receiver: it checks each request like a real
// one would and answers with the next scripted response.
type receiver struct {
	t         *testing.T
	mu        sync.Mutex
	responses []response
	requests  []*http.Request
	bodies    [][]byte
}

type response struct {
	status int
	header map[string]string
	body   string
}

func newReceiver(t *testing.T, rs ...response) (*receiver, *httptest.Server) {
	r := &receiver{t: t, responses: rs}
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	return r, srv
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	n := len(r.requests)
	r.requests = append(r.requests, req)
	r.bodies = append(r.bodies, body)
	r.mu.Unlock()
	if req.Method != http.MethodPost {
		r.t.Errorf("method %s", req.Method)
	}
	if ct := req.Header.Get("Content-Type"); ct != "application/json" {
		r.t.Errorf("Content-Type %q", ct)
	}
	var v map[string]any
	if err := json.Unmarshal(body, &v); err != nil {
		r.t.Errorf("body does not decode: %v", err)
	}
	resp := response{status: http.StatusOK}
	if n < len(r.responses) {
		resp = r.responses[n]
	}
	for k, v := range resp.header {
		w.Header().Set(k, v)
	}
	w.WriteHeader(resp.status)
	io.WriteString(w, resp.body)
}

func (r *receiver) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.requests)
}

// recorder replaces Backoff and Sleep: it records what the sender asked.
type recorder struct {
	backoffs []int
	sleeps   []time.Duration
}

func (rec *recorder) sender() *Sender {
	return &Sender{
		Backoff: func(attempt int) time.Duration {
			rec.backoffs = append(rec.backoffs, attempt)
			return time.Duration(attempt) * time.Millisecond
		},
		Sleep: func(ctx context.Context, d time.Duration) error {
			rec.sleeps = append(rec.sleeps, d)
			return ctx.Err()
		},
	}
}

const secret = "Bearer tok-9f8e7d6c5b4a"

func target(format, url string) Target {
	return Target{Name: "recv", Format: format, URL: url, JiraProject: "SEC",
		Headers: map[string]string{"Authorization": secret}}
}

func TestSendFormats(t *testing.T) {
	for _, tc := range []struct {
		format, reply, key, link string
	}{
		{JSON, `{"ok":true}`, "", ""},
		{Jira, `{"id":"10000","key":"SEC-24","self":"https://example.atlassian.net/rest/api/2/issue/10000"}`, "SEC-24", "https://example.atlassian.net/rest/api/2/issue/10000"},
		{GitHub, `{"number":1347,"html_url":"https://github.com/acme/payments/issues/1347"}`, "#1347", "https://github.com/acme/payments/issues/1347"},
	} {
		t.Run(tc.format, func(t *testing.T) {
			recv, srv := newReceiver(t, response{status: http.StatusCreated, body: tc.reply})
			tg := target(tc.format, srv.URL)
			e := fixtureEvent()
			res, err := new(Sender).Send(context.Background(), tg, e)
			if err != nil {
				t.Fatal(err)
			}
			if res.Attempts != 1 || res.Status != 201 || res.IssueKey != tc.key || res.IssueURL != tc.link || res.Delivery != DeliveryID(tg, e) {
				t.Errorf("result %+v", res)
			}
			req := recv.requests[0]
			if req.Header.Get("Authorization") != secret || req.Header.Get("X-Hallmark-Delivery") != res.Delivery || req.Header.Get("X-Hallmark-Event") != FindingNew {
				t.Errorf("headers %v", req.Header)
			}
			want, _, _ := Render(tg, e)
			if string(recv.bodies[0]) != string(want) {
				t.Errorf("body is not Render's")
			}
		})
	}
}

func TestSendRetries500(t *testing.T) {
	recv, srv := newReceiver(t, response{status: 500}, response{status: 503}, response{status: 200})
	var rec recorder
	res, err := rec.sender().Send(context.Background(), target(JSON, srv.URL), fixtureEvent())
	if err != nil {
		t.Fatal(err)
	}
	if res.Attempts != 3 || res.Status != 200 || recv.count() != 3 {
		t.Errorf("result %+v, %d requests", res, recv.count())
	}
	if len(rec.backoffs) != 2 || rec.backoffs[0] != 1 || rec.backoffs[1] != 2 {
		t.Errorf("backoff calls %v", rec.backoffs)
	}
	if len(rec.sleeps) != 2 || rec.sleeps[1] != 2*time.Millisecond {
		t.Errorf("sleeps %v", rec.sleeps)
	}
	d := recv.requests[0].Header.Get("X-Hallmark-Delivery")
	for _, r := range recv.requests {
		if r.Header.Get("X-Hallmark-Delivery") != d {
			t.Error("retries carry another delivery id")
		}
	}
}

func TestSendGivesUp(t *testing.T) {
	recv, srv := newReceiver(t, response{status: 502}, response{status: 502}, response{status: 502})
	var rec recorder
	s := rec.sender()
	s.MaxAttempts = 3
	res, err := s.Send(context.Background(), target(Jira, srv.URL), fixtureEvent())
	if err == nil || res.Attempts != 3 || recv.count() != 3 || res.Status != 502 {
		t.Fatalf("err %v, result %+v", err, res)
	}
	if want := "notify: target recv: attempt 3: status 502: giving up after 3 attempts"; err.Error() != want {
		t.Errorf("err = %q, want %q", err, want)
	}
	if len(rec.sleeps) != 2 {
		t.Errorf("sleeps %v", rec.sleeps)
	}
}

func TestSendRetryAfter(t *testing.T) {
	date := time.Now().Add(5 * time.Second).UTC().Format(http.TimeFormat)
	for _, tc := range []struct {
		name   string
		header string
		min    time.Duration
		max    time.Duration
	}{
		{"seconds", "7", 7 * time.Second, 7 * time.Second},
		{"capped", "86400", maxRetryAfter, maxRetryAfter},
		{"date", date, 3 * time.Second, 5 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, srv := newReceiver(t, response{status: 429, header: map[string]string{"Retry-After": tc.header}}, response{status: 204})
			var rec recorder
			res, err := rec.sender().Send(context.Background(), target(GitHub, srv.URL), fixtureEvent())
			if err != nil || res.Attempts != 2 {
				t.Fatalf("err %v, result %+v", err, res)
			}
			if len(rec.sleeps) != 1 || rec.sleeps[0] < tc.min || rec.sleeps[0] > tc.max {
				t.Errorf("slept %v, want %v..%v", rec.sleeps, tc.min, tc.max)
			}
		})
	}
}

func TestRetryAfterParse(t *testing.T) {
	now := time.Date(2026, 11, 22, 5, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		v  string
		d  time.Duration
		ok bool
	}{
		{"0", 0, true},
		{"12", 12 * time.Second, true},
		{"-1", 0, false},
		{"soon", 0, false},
		{"", 0, false},
		{"Sun, 22 Nov 2026 05:00:10 GMT", 10 * time.Second, true},
		{"Sun, 22 Nov 2026 04:00:00 GMT", 0, true},
		{"99999999999999999999", maxRetryAfter, true},
		{"-99999999999999999999", 0, false},
	} {
		d, ok := retryAfter(tc.v, now)
		if d != tc.d || ok != tc.ok {
			t.Errorf("retryAfter(%q) = %v, %v; want %v, %v", tc.v, d, ok, tc.d, tc.ok)
		}
	}
}

func TestSendNotRetried(t *testing.T) {
	for _, status := range []int{400, 401, 404, 410, 302} {
		recv, srv := newReceiver(t, response{status: status, header: map[string]string{"Location": "https://elsewhere.example/"},
			body: `{"errorMessages":["bad token: ` + secret + `", "no route for /rest/api/2/issue?token=urlsecret"]}`})
		var rec recorder
		res, err := rec.sender().Send(context.Background(), target(Jira, srv.URL+"/rest/api/2/issue?token=urlsecret"), fixtureEvent())
		if err == nil || res.Attempts != 1 || recv.count() != 1 || len(rec.backoffs) != 0 {
			t.Fatalf("%d: err %v, result %+v", status, err, res)
		}
		if !strings.HasPrefix(err.Error(), "notify: target recv: status ") || !strings.Contains(err.Error(), "(not retried)") {
			t.Errorf("%d: err %v", status, err)
		}
		if strings.Contains(err.Error(), "tok-9f8e7d6c5b4a") || strings.Contains(err.Error(), "urlsecret") {
			t.Errorf("%d: the error shows a secret: %v", status, err)
		}
	}
}

func TestSendNetworkError(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	u := srv.URL + "/hook?token=urlsecret"
	srv.Close() // nothing listens: connection refused
	var rec recorder
	s := rec.sender()
	s.MaxAttempts = 2
	res, err := s.Send(context.Background(), target(JSON, u), fixtureEvent())
	if err == nil || res.Attempts != 2 || res.Status != 0 || len(rec.backoffs) != 1 {
		t.Fatalf("err %v, result %+v", err, res)
	}
	if strings.Contains(err.Error(), "urlsecret") || strings.Contains(err.Error(), "tok-9f8e") || strings.Contains(err.Error(), srv.URL) {
		t.Errorf("the error shows the URL or a header: %v", err)
	}
	if !strings.HasPrefix(err.Error(), "notify: target recv: attempt 2: post: ") {
		t.Errorf("err %v", err)
	}
}

func TestSendTimeout(t *testing.T) {
	block := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-block:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(func() { close(block); srv.Close() })
	var rec recorder
	s := rec.sender()
	s.MaxAttempts = 2
	s.Timeout = 50 * time.Millisecond
	res, err := s.Send(context.Background(), target(JSON, srv.URL), fixtureEvent())
	if err == nil || res.Attempts != 2 || !strings.Contains(err.Error(), "timeout") {
		t.Fatalf("err %v, result %+v", err, res)
	}
}

func TestSendContextCancel(t *testing.T) {
	recv, srv := newReceiver(t, response{status: 503}, response{status: 503}, response{status: 503})
	ctx, cancel := context.WithCancel(context.Background())
	s := &Sender{
		Backoff: func(int) time.Duration { return time.Hour },
		Sleep: func(ctx context.Context, d time.Duration) error {
			cancel()
			return sleep(ctx, d) // the real one: must return at once
		},
	}
	start := time.Now()
	res, err := s.Send(ctx, target(JSON, srv.URL), fixtureEvent())
	if !errors.Is(err, context.Canceled) || res.Attempts != 1 || recv.count() != 1 {
		t.Fatalf("err %v, result %+v", err, res)
	}
	if time.Since(start) > 10*time.Second {
		t.Error("cancel did not stop the wait")
	}

	// Cancelled before the first attempt: no retry either.
	ctx, cancel = context.WithCancel(context.Background())
	cancel()
	res, err = new(Sender).Send(ctx, target(JSON, srv.URL), fixtureEvent())
	if !errors.Is(err, context.Canceled) || res.Attempts != 1 {
		t.Fatalf("err %v, result %+v", err, res)
	}
}

func TestSendSkipsUnwanted(t *testing.T) {
	recv, srv := newReceiver(t)
	tg := target(JSON, srv.URL)
	tg.Events = []string{SLABreached}
	res, err := new(Sender).Send(context.Background(), tg, fixtureEvent())
	if err != nil || !res.Skipped || res.Attempts != 0 || recv.count() != 0 {
		t.Fatalf("err %v, result %+v", err, res)
	}
}

func TestSendInvalidTarget(t *testing.T) {
	tg := target(JSON, "http://hooks.example.com/")
	_, err := new(Sender).Send(context.Background(), tg, fixtureEvent())
	if err == nil || strings.Contains(err.Error(), "tok-9f8e") {
		t.Fatalf("err %v", err)
	}
}

func TestSendLargeResponse(t *testing.T) {
	huge := `{"key":"SEC-1","self":"x","pad":"` + strings.Repeat("a", 1<<20) + `"}`
	_, srv := newReceiver(t, response{status: 201, body: huge})
	res, err := new(Sender).Send(context.Background(), target(Jira, srv.URL), fixtureEvent())
	if err != nil || res.IssueKey != "" {
		t.Fatalf("err %v, result %+v: the body was read past 64 KiB", err, res)
	}
}

func TestDefaultBackoff(t *testing.T) {
	for attempt, limit := range map[int]time.Duration{0: 500 * time.Millisecond, 1: 500 * time.Millisecond, 2: time.Second, 4: 4 * time.Second, 7: 30 * time.Second, 100: 30 * time.Second} {
		for range 200 {
			if d := DefaultBackoff(attempt); d < 0 || d > limit {
				t.Fatalf("DefaultBackoff(%d) = %v, above %v", attempt, d, limit)
			}
		}
	}
	// Full jitter: the waits are spread, not all at the cap.
	seen := map[time.Duration]bool{}
	for range 50 {
		seen[DefaultBackoff(5)] = true
	}
	if len(seen) < 10 {
		t.Errorf("only %d distinct waits", len(seen))
	}
}
