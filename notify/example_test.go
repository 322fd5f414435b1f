package notify_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/hallmark-dev/hallmark/notify"
	"github.com/hallmark-dev/hallmark/scan"
)

func ExampleRender() {
	t := notify.Target{
		Name: "sec-jira", Format: notify.Jira, JiraProject: "SEC",
		URL: "https://example.atlassian.net/rest/api/2/issue",
	}
	e := notify.Event{
		Type: notify.FindingNew, Project: "payments",
		Finding: scan.Finding{
			Kind: scan.Vulnerability, ID: "GO-2021-0113", Severity: scan.High,
			Package: scan.Package{Ecosystem: "Go", Name: "golang.org/x/text", Version: "v0.3.5"},
			Summary: "Out-of-bounds read, ping @everyone [here](https://evil.example)",
		},
	}
	body, _, err := notify.Render(t, e)
	if err != nil {
		fmt.Println(err)
		return
	}
	var issue struct {
		Fields struct {
			Summary  string
			Labels   []string
			Priority struct{ Name string }
		}
	}
	json.Unmarshal(body, &issue)
	fmt.Println(issue.Fields.Summary)
	fmt.Println(issue.Fields.Labels, issue.Fields.Priority.Name)
	// Output:
	// [hallmark] GO-2021-0113 in golang.org/x/text@v0.3.5 (high)
	// [hallmark high vulnerability] High
}

func ExampleSender_Send() {
	// A local receiver standing in for GitHub: the first attempt fails.
	calls := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		calls++
		if calls == 1 {
			w.WriteHeader(http.StatusBadGateway)
			return
		}
		w.WriteHeader(http.StatusCreated)
		fmt.Fprint(w, `{"number":7,"html_url":"https://github.com/acme/payments/issues/7"}`)
	}))
	defer srv.Close()

	s := &notify.Sender{Backoff: func(int) time.Duration { return time.Millisecond }}
	t := notify.Target{
		Name: "gh", Format: notify.GitHub, URL: srv.URL, // http is allowed to loopback only
		Headers: map[string]string{"Authorization": "Bearer not-a-real-token"},
	}
	e := notify.Event{Type: notify.SLABreached, Project: "payments",
		Finding: scan.Finding{Kind: scan.Vulnerability, ID: "GO-2021-0113", Severity: scan.High, Fingerprint: "4f7c"}}
	res, err := s.Send(context.Background(), t, e)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(res.Attempts, res.Status, res.IssueKey, res.IssueURL)
	// Output:
	// 2 201 #7 https://github.com/acme/payments/issues/7
}
