package controlplane

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/hallmark-dev/hallmark/api"
	"github.com/hallmark-dev/hallmark/audit"
	"github.com/hallmark-dev/hallmark/auth"
	"github.com/hallmark-dev/hallmark/state"
)

// handler is one operation: it decodes its request, and runs.
type handler func(p *Plane, ctx context.Context, who auth.Principal, body []byte) (any, error)

// op adapts a typed operation to a handler. Requests are decoded strictly:
// unknown fields and trailing data are errors.
func op[Req any, Resp any](f func(p *Plane, ctx context.Context, who auth.Principal, req *Req) (*Resp, error)) handler {
	return func(p *Plane, ctx context.Context, who auth.Principal, body []byte) (any, error) {
		req := new(Req)
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.DisallowUnknownFields()
		if err := dec.Decode(req); err != nil {
			return nil, api.Errorf(http.StatusBadRequest, "malformed request: %s", jsonError(err))
		}
		if dec.More() {
			return nil, api.Errorf(http.StatusBadRequest, "malformed request: data after the JSON object")
		}
		return f(p, ctx, who, req)
	}
}

func jsonError(err error) string {
	return strings.TrimPrefix(err.Error(), "json: ")
}

var handlers = map[string]handler{
	api.Sign.Name:          op((*Plane).sign),
	api.Whoami.Name:        op((*Plane).whoami),
	api.CreateProject.Name: op((*Plane).createProject),
	api.ListProjects.Name:  op((*Plane).listProjects),
	api.IssueToken.Name:    op((*Plane).issueToken),
	api.ListTokens.Name:    op((*Plane).listTokens),
	api.RevokeToken.Name:   op((*Plane).revokeToken),
	api.SetRole.Name:       op((*Plane).setRole),
	api.AddBinding.Name:    op((*Plane).addBinding),
	api.ListBindings.Name:  op((*Plane).listBindings),
	api.RemoveBinding.Name: op((*Plane).removeBinding),
	api.GenerateKey.Name:   op((*Plane).generateKey),
	api.ListKeys.Name:      op((*Plane).listKeys),
	api.RotateKey.Name:     op((*Plane).rotateKey),
	api.RetireKey.Name:     op((*Plane).retireKey),
	api.RestrictKey.Name:   op((*Plane).restrictKey),
	api.RotateCA.Name:      op((*Plane).rotateCA),
	api.ReadAudit.Name:     op((*Plane).readAudit),
	api.AnchorAudit.Name:   op((*Plane).anchorAudit),
	api.ListRecords.Name:   op((*Plane).listRecords),

	api.SetPolicy.Name:      op((*Plane).setPolicy),
	api.GetPolicy.Name:      op((*Plane).getPolicy),
	api.PolicyHistory.Name:  op((*Plane).policyHistory),
	api.Gate.Name:           op((*Plane).gate),
	api.ListVerdicts.Name:   op((*Plane).listVerdicts),
	api.ListFindings.Name:   op((*Plane).listFindings),
	api.ShowFinding.Name:    op((*Plane).showFinding),
	api.AssignFinding.Name:  op((*Plane).assignFinding),
	api.AckFinding.Name:     op((*Plane).ackFinding),
	api.RequestExc.Name:     op((*Plane).requestException),
	api.ApproveExc.Name:     op((*Plane).approveException),
	api.RejectExc.Name:      op((*Plane).rejectException),
	api.RevokeExc.Name:      op((*Plane).revokeException),
	api.ListExceptions.Name: op((*Plane).listExceptions),
	api.ShowException.Name:  op((*Plane).showException),
	api.ExportVEX.Name:      op((*Plane).exportVEX),
	api.AddWebhook.Name:     op((*Plane).addWebhook),
	api.ListWebhooks.Name:   op((*Plane).listWebhooks),
	api.RemoveWebhook.Name:  op((*Plane).removeWebhook),
	api.ReportData.Name:     op((*Plane).reportData),
	api.RecordBuild.Name:    op((*Plane).recordBuild),
	api.SubmitBuild.Name:    op((*Plane).submitBuild),
	api.TakeBuild.Name:      op((*Plane).takeBuild),
	api.FinishBuild.Name:    op((*Plane).finishBuild),
	api.LogBuild.Name:       op((*Plane).logBuild),
	api.SignPE.Name:         op((*Plane).signPE),
	api.GetBuild.Name:       op((*Plane).getBuild),
	api.GetOutput.Name:      op((*Plane).getOutput),
}

// Handle runs the operation name for who with the JSON request body, and
// returns the JSON response. It is the whole control-plane API: the CLI
// calls it in-process, the server over HTTP. Errors are *api.Error; any
// other error is the control plane's own failure, which callers report as
// internal without its details. Refusals (bad input, denied, replayed) are
// audited.
func (p *Plane) Handle(ctx context.Context, who auth.Principal, name string, body []byte) ([]byte, error) {
	h, ok := handlers[name]
	if !ok {
		return nil, api.Errorf(http.StatusNotFound, "no operation %q", name)
	}
	if max := api.MaxRequestOf(name); len(body) > max {
		return nil, api.Errorf(http.StatusRequestEntityTooLarge, "request over %d bytes", max)
	}
	resp, err := h(p, ctx, who, body)
	if err != nil {
		p.auditRefusal(ctx, who, name, err)
		return nil, err
	}
	return json.Marshal(resp)
}

// auditRefusal records a refused request. Internal failures are not the
// caller's doing and are logged by the server instead.
func (p *Plane) auditRefusal(ctx context.Context, who auth.Principal, name string, err error) {
	var ae *api.Error
	if !errors.As(err, &ae) || ae.Status >= 500 {
		return
	}
	outcome := "refused"
	if ae.Status == http.StatusForbidden || ae.Status == http.StatusUnauthorized {
		outcome = "denied"
	}
	p.AuditRefusal(ctx, who.String(), name, outcome, ae.Message)
}

// AuditRefusal records a refused request: who (an actor string), the
// operation, "denied" or "refused", and why. It is best effort: a refusal
// is not worth failing over, and flooding is bounded by rate limits.
func (p *Plane) AuditRefusal(ctx context.Context, actor, op, outcome, reason string) {
	ev := audit.Event{
		Time: p.now(), Actor: actor, Action: op, Outcome: outcome,
		Detail: map[string]string{"reason": truncate(reason, 500)},
	}
	if _, err := p.db.Commit(ctx, state.Write{Audit: []audit.Event{ev}}); err != nil {
		p.logger.Error("auditing a refusal", "err", err)
	}
}

// truncate shortens s to about n bytes, on a character boundary: audit
// details must stay valid UTF-8.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "") + "..."
}

// authorize checks that who may do a on project, as an *api.Error.
func authorize(who auth.Principal, a auth.Action, project string) error {
	if err := auth.Authorize(who, a, project); err != nil {
		return api.Errorf(http.StatusForbidden, "%v", err)
	}
	return nil
}

// commit stores w, turning a replay into a 409.
func (p *Plane) commit(ctx context.Context, w state.Write) error {
	if w.Nonce == "" {
		return api.Errorf(http.StatusBadRequest, "request has no nonce: every change carries a fresh one")
	}
	if len(w.Nonce) > api.MaxNonceLength {
		return api.Errorf(http.StatusBadRequest, "nonce over %d characters", api.MaxNonceLength)
	}
	_, err := p.db.Commit(ctx, w)
	if errors.Is(err, state.ErrReplay) {
		return api.Errorf(http.StatusConflict, "replayed request: nonce %q was used before", w.Nonce)
	}
	if err != nil {
		return fmt.Errorf("controlplane: storing: %w", err)
	}
	return nil
}

// event returns an audit event by who, now.
func (p *Plane) event(who auth.Principal, action, project, target string, detail map[string]string) audit.Event {
	return audit.Event{Time: p.now(), Actor: who.String(), Action: action, Project: project, Target: target, Outcome: "ok", Detail: detail}
}
