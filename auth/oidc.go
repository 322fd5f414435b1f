package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	jose "github.com/go-jose/go-jose/v4"
)

// OIDC workload identity: a CI job presents its platform's OIDC ID token (a
// JWT signed by the issuer, e.g. https://token.actions.githubusercontent.com)
// and a Binding maps it to one project and one role. See the package
// documentation for what is checked.

// leeway is the clock skew allowed on exp, nbf and iat.
const leeway = time.Minute

// discoveryRetry is how long a failed discovery is remembered: requests in
// that time fail at once instead of hammering an issuer that is down.
const discoveryRetry = 10 * time.Second

// discoveryTimeout bounds one discovery fetch.
const discoveryTimeout = 30 * time.Second

// signingAlgs are the JWS algorithms accepted: the asymmetric ones go-oidc
// supports. "none" and the HMAC algorithms are refused before any key is
// looked at.
var signingAlgs = []string{
	oidc.RS256, oidc.RS384, oidc.RS512,
	oidc.ES256, oidc.ES384, oidc.ES512,
	oidc.PS256, oidc.PS384, oidc.PS512,
	oidc.EdDSA,
}

// jwsAlgs are signingAlgs as go-jose takes them.
var jwsAlgs = func() []jose.SignatureAlgorithm {
	algs := make([]jose.SignatureAlgorithm, len(signingAlgs))
	for i, a := range signingAlgs {
		algs[i] = jose.SignatureAlgorithm(a)
	}
	return algs
}()

// Binding admits the ID tokens of one issuer and audience whose claims match,
// as Role in Project.
type Binding struct {
	// Issuer is the token's iss, exactly. It must be an https URL, except on a
	// loopback host (localhost, 127.0.0.0/8, ::1) where http is accepted for
	// tests and local issuers.
	Issuer string
	// Audience must be one of the token's aud values.
	Audience string
	// Claims must each be a string claim of the token with exactly this value
	// ("sub" included). At least one is required: without claims a binding
	// would admit every workload of the issuer (on a public CI, every
	// repository that asks for this audience). iss, aud, exp, nbf and iat
	// are checked by Verify and may not be bound.
	Claims map[string]string
	// Project is the project the role is held in: required for builder and
	// approver, empty for worker.
	Project string
	// Role is builder, approver or worker. Bindings may not grant
	// security-admin or auditor: workload identities build, they do not
	// administer.
	Role Role
}

// ValidateBinding reports whether b is a binding Verify will accept.
func ValidateBinding(b Binding) error {
	if err := validateBinding(b); err != nil {
		return fmt.Errorf("auth: oidc binding: %w", err)
	}
	return nil
}

func validateBinding(b Binding) error {
	if err := checkURL(b.Issuer); err != nil {
		return fmt.Errorf("issuer: %w", err)
	}
	if b.Audience == "" {
		return errors.New("no audience")
	}
	if len(b.Claims) == 0 {
		return errors.New("no claims: a binding must name the workload (sub or another claim), or it admits every job of the issuer")
	}
	for k, v := range b.Claims {
		switch {
		case k == "":
			return errors.New("claims: empty claim name")
		case k == "iss" || k == "aud" || k == "exp" || k == "nbf" || k == "iat":
			return fmt.Errorf("claims: %q is checked by verification itself and may not be bound", k)
		case v == "":
			return fmt.Errorf("claims: %q: empty value", k)
		}
	}
	r, err := ParseRole(string(b.Role))
	if err != nil {
		return fmt.Errorf("role: unknown role %q", b.Role)
	}
	switch r {
	case SecurityAdmin, Auditor:
		return fmt.Errorf("role %s may not be bound: workload identities build, they do not administer", r)
	}
	switch {
	case r.ProjectScoped() && b.Project == "":
		return fmt.Errorf("role %s needs a project", r)
	case !r.ProjectScoped() && b.Project != "":
		return fmt.Errorf("role %s is platform-wide but project %q is named", r, b.Project)
	}
	return nil
}

// checkURL accepts https URLs and, on loopback hosts only, http URLs, with no
// user info, query or fragment (OpenID Connect Discovery 1.0 §3).
func checkURL(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Errorf("%q is not a URL", s)
	}
	switch {
	case u.Host == "" || u.Opaque != "":
		return fmt.Errorf("%q is not an absolute URL", s)
	case u.User != nil || u.RawQuery != "" || u.ForceQuery || u.Fragment != "":
		return fmt.Errorf("%q has user info, a query or a fragment", s)
	case u.Scheme == "https":
		return nil
	case u.Scheme == "http" && isLoopback(u.Hostname()):
		return nil
	default:
		return fmt.Errorf("%q is not https (http is accepted only on loopback hosts)", s)
	}
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// OIDC verifies OIDC ID tokens against their issuers. It is safe for
// concurrent use; make one and keep it, since it caches what it fetches.
type OIDC struct {
	client *http.Client
	now    func() time.Time
	retry  time.Duration

	mu      sync.Mutex
	issuers map[string]*issuer
}

// issuer is the outcome of one discovery of an issuer.
type issuer struct {
	done     chan struct{} // closed when the fields below are set
	verifier *oidc.IDTokenVerifier
	err      error
	at       time.Time // when discovery finished
}

// NewOIDC returns a verifier fetching with client (nil: a client with a
// 30-second timeout; give a client a timeout, since key refreshes run in the
// background on it). Nothing is fetched until the first token from a bound
// issuer: then its discovery document and JWKS, both cached. The JWKS is
// fetched again when a token names a key it does not hold (go-oidc's
// RemoteKeySet), which is how issuer key rotation is picked up. A failed
// discovery is retried after 10 seconds.
func NewOIDC(client *http.Client) *OIDC {
	if client == nil {
		client = &http.Client{Timeout: discoveryTimeout}
	}
	return &OIDC{client: client, now: time.Now, retry: discoveryRetry, issuers: map[string]*issuer{}}
}

// Verify verifies the ID token raw and returns the principal of the first of
// bindings that admits it: Subject is the token's sub, Via "oidc:" + issuer,
// Scopes nil.
//
// The token must be a compact JWS with one signature by a key in its issuer's
// JWKS, in an asymmetric algorithm; iss must be the Issuer of a binding (a
// token from any other issuer is refused before anything is fetched); aud
// must include that binding's Audience; exp and iat must be present, and
// exp, nbf and iat hold with one minute of leeway; sub must be present.
//
// Errors wrap ErrUnauthenticated when the token is not a valid token of a
// bound issuer and audience, or the issuer cannot be reached; they wrap
// ErrForbidden when the token is valid but no binding's claims match, naming
// the issuer and subject. An invalid binding is an error wrapping neither.
func (o *OIDC) Verify(ctx context.Context, raw string, bindings []Binding) (Principal, error) {
	for i, b := range bindings {
		if err := validateBinding(b); err != nil {
			return Principal{}, fmt.Errorf("auth: oidc bindings[%d]: %w", i, err)
		}
	}
	unauthenticated := func(format string, args ...any) (Principal, error) {
		return Principal{}, fmt.Errorf("auth: %w: oidc token: %s", ErrUnauthenticated, fmt.Sprintf(format, args...))
	}

	jws, err := jose.ParseSigned(raw, jwsAlgs)
	if err != nil {
		return unauthenticated("not a JWT signed with an accepted algorithm: %v", err)
	}
	if len(jws.Signatures) != 1 {
		return unauthenticated("has %d signatures, not 1", len(jws.Signatures))
	}
	// Only to pick the bindings, and so the issuer to fetch keys from; go-oidc
	// checks iss again after the signature.
	var unverified struct {
		Iss string `json:"iss"`
	}
	if err := json.Unmarshal(jws.UnsafePayloadWithoutVerification(), &unverified); err != nil {
		return unauthenticated("payload is not a JSON object with a string iss")
	}
	iss := unverified.Iss
	var bound []Binding
	for _, b := range bindings {
		if b.Issuer == iss {
			bound = append(bound, b)
		}
	}
	if len(bound) == 0 {
		return unauthenticated("no binding trusts issuer %q", iss)
	}

	v, err := o.verifier(ctx, iss)
	if err != nil {
		return Principal{}, err
	}
	tok, err := v.Verify(ctx, raw)
	if err != nil {
		return unauthenticated("from %q: %v", iss, err)
	}
	var claims map[string]any
	if err := tok.Claims(&claims); err != nil {
		return unauthenticated("from %q: claims: %v", iss, err)
	}
	if err := checkTimes(claims, o.now()); err != nil {
		return unauthenticated("from %q: %v", iss, err)
	}
	if tok.Subject == "" {
		return unauthenticated("from %q: no sub", iss)
	}

	var aud []Binding
	for _, b := range bound {
		if slices.Contains(tok.Audience, b.Audience) {
			aud = append(aud, b)
		}
	}
	if len(aud) == 0 {
		var want []string
		for _, b := range bound {
			want = append(want, b.Audience)
		}
		return unauthenticated("from %q: audience %q is none of the bound %q", iss, tok.Audience, want)
	}
	for _, b := range aud {
		if claimsMatch(claims, b.Claims) {
			return Principal{Subject: tok.Subject, Role: b.Role, Project: b.Project, Via: "oidc:" + iss}, nil
		}
	}
	return Principal{}, fmt.Errorf("auth: %w: no oidc binding admits subject %q of issuer %q", ErrForbidden, tok.Subject, iss)
}

func claimsMatch(claims map[string]any, want map[string]string) bool {
	for k, w := range want {
		if v, ok := claims[k].(string); !ok || v != w {
			return false
		}
	}
	return true
}

// maxClaimTime bounds the exp, nbf and iat checkTimes accepts: about the
// year 36812, far beyond any real token and well inside int64.
const maxClaimTime = 1 << 40

// checkTimes checks exp, nbf and iat (JSON numbers of seconds, RFC 7519 §4.1)
// against now with leeway. go-oidc's own checks are off: they have no leeway
// on exp and do not look at iat.
func checkTimes(claims map[string]any, now time.Time) error {
	get := func(name string) (t time.Time, present bool, err error) {
		v, ok := claims[name]
		if !ok {
			return time.Time{}, false, nil
		}
		f, ok := v.(float64)
		if !ok {
			return time.Time{}, true, fmt.Errorf("%s is not a number", name)
		}
		// Out of this range, int64(f) is not f: an absurd nbf or iat would
		// wrap around to the distant past and pass.
		if f < -maxClaimTime || f > maxClaimTime {
			return time.Time{}, true, fmt.Errorf("%s %g is not a time in seconds since 1970", name, f)
		}
		return time.Unix(int64(f), 0), true, nil
	}
	exp, ok, err := get("exp")
	switch {
	case err != nil:
		return err
	case !ok:
		return errors.New("no exp")
	case now.After(exp.Add(leeway)):
		return fmt.Errorf("expired at %v", exp.UTC())
	}
	nbf, ok, err := get("nbf")
	switch {
	case err != nil:
		return err
	case ok && now.Add(leeway).Before(nbf):
		return fmt.Errorf("not valid before %v", nbf.UTC())
	}
	iat, ok, err := get("iat")
	switch {
	case err != nil:
		return err
	case !ok:
		return errors.New("no iat")
	case now.Add(leeway).Before(iat):
		return fmt.Errorf("issued in the future, at %v", iat.UTC())
	}
	return nil
}

// verifier returns the verifier of issuer iss, discovering it on first use.
// One discovery runs at a time per issuer, shared by all waiting callers; a
// failure is remembered for o.retry.
func (o *OIDC) verifier(ctx context.Context, iss string) (*oidc.IDTokenVerifier, error) {
	o.mu.Lock()
	is := o.issuers[iss]
	if is != nil {
		select {
		case <-is.done:
			if is.err != nil && o.now().Sub(is.at) >= o.retry {
				is = nil
			}
		default:
		}
	}
	if is == nil {
		is = &issuer{done: make(chan struct{})}
		o.issuers[iss] = is
		go o.discover(iss, is)
	}
	o.mu.Unlock()

	select {
	case <-is.done:
		return is.verifier, is.err
	case <-ctx.Done():
		return nil, fmt.Errorf("auth: %w: oidc issuer %q: waiting for discovery: %w", ErrUnauthenticated, iss, ctx.Err())
	}
}

// discover fetches iss's discovery document, detached from any one request
// so that a caller giving up does not fail it for the others.
func (o *OIDC) discover(iss string, is *issuer) {
	defer close(is.done)
	ctx, cancel := context.WithTimeout(oidc.ClientContext(context.Background(), o.client), discoveryTimeout)
	defer cancel()
	v, err := o.discoverVerifier(ctx, iss)
	is.verifier = v
	if err != nil {
		is.err = fmt.Errorf("auth: %w: oidc issuer %q unavailable: %w", ErrUnauthenticated, iss, err)
	}
	is.at = o.now()
}

func (o *OIDC) discoverVerifier(ctx context.Context, iss string) (*oidc.IDTokenVerifier, error) {
	p, err := oidc.NewProvider(ctx, iss)
	if err != nil {
		return nil, fmt.Errorf("discovery: %w", err)
	}
	var meta struct {
		JWKSURL string `json:"jwks_uri"`
	}
	if err := p.Claims(&meta); err != nil {
		return nil, fmt.Errorf("discovery: %w", err)
	}
	if err := checkURL(meta.JWKSURL); err != nil {
		return nil, fmt.Errorf("discovery: jwks_uri: %w", err)
	}
	return p.Verifier(&oidc.Config{
		SkipClientIDCheck:    true, // per binding, in Verify
		SkipExpiryCheck:      true, // with leeway and iat, in checkTimes
		SupportedSigningAlgs: signingAlgs,
	}), nil
}
