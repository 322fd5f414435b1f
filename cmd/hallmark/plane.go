package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/user"
	"time"

	"github.com/hallmark-dev/hallmark/api"
	"github.com/hallmark-dev/hallmark/auth"
	"github.com/hallmark-dev/hallmark/controlplane"
	"github.com/hallmark-dev/hallmark/custody"
)

// planeFlags say where the control plane is: a server (--server, or
// HALLMARK_SERVER, with HALLMARK_TOKEN), or the data directory's, run
// in-process.
type planeFlags struct {
	home, server, database, pkcs11 string
}

func addPlaneFlags(fs *flag.FlagSet) *planeFlags {
	pf := new(planeFlags)
	fs.StringVar(&pf.home, "home", "", "")
	fs.StringVar(&pf.server, "server", "", "")
	fs.StringVar(&pf.database, "database", "", "")
	fs.StringVar(&pf.pkcs11, "pkcs11", os.Getenv("HALLMARK_PKCS11"), "")
	return pf
}

// planeFlagsUsage documents addPlaneFlags' flags.
const planeFlagsUsage = `  --server URL        the control plane server (default $HALLMARK_SERVER; the
                      token comes from $HALLMARK_TOKEN); without one, the data
                      directory's control plane runs in-process
  --home DIR          data directory (default $HALLMARK_HOME)
  --database URL      in-process: the state database, if not the data
                      directory's (postgres://...)
  --pkcs11 URL        in-process: a PKCS#11 token as key backend "pkcs11",
                      pkcs11:token=LABEL;module-path=PATH (default
                      $HALLMARK_PKCS11; PIN from $HALLMARK_PKCS11_PIN)
`

// conn is the control-plane API over one of its two transports.
type conn interface {
	Call(ctx context.Context, op string, body []byte) ([]byte, error)
	Close() error
}

// local is the in-process transport: the data directory's control plane,
// called as the local operator.
type local struct {
	plane *controlplane.Plane
	who   auth.Principal
}

func (l *local) Call(ctx context.Context, op string, body []byte) ([]byte, error) {
	return l.plane.Handle(ctx, l.who, op, body)
}

func (l *local) Close() error { return l.plane.Close(context.Background()) }

// remote is the HTTP transport.
type remote struct{ *api.Client }

func (remote) Close() error { return nil }

// connect returns the control plane pf names.
func (c *cli) connect(ctx context.Context, pf *planeFlags) (conn, error) {
	if server := pf.serverURL(); server != "" {
		u, err := url.Parse(server)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return nil, usageErrorf("server %q: want an http(s) URL such as https://hallmark.example.com", server)
		}
		token := os.Getenv("HALLMARK_TOKEN")
		if token == "" {
			return nil, usageErrorf("HALLMARK_TOKEN is not set: the server needs a token").
				hint("ask a security-admin for one ('hallmark admin token issue'), or give a CI job's OIDC ID token")
		}
		return remote{&api.Client{URL: server, Token: token, HTTP: httpClient}}, nil
	}
	p, err := c.openPlane(ctx, pf)
	if err != nil {
		return nil, err
	}
	return planeConn(ctx, p)
}

// serverURL is the server the flags name: --server, else $HALLMARK_SERVER;
// "" for the data directory's control plane.
func (pf *planeFlags) serverURL() string {
	if pf.server != "" {
		return pf.server
	}
	return os.Getenv("HALLMARK_SERVER")
}

// httpClient is the CLI's client of a control plane server: a server that
// stops answering fails the command rather than hanging it.
var httpClient = &http.Client{Timeout: 5 * time.Minute}

// localConn calls p in-process as the local operator, named after the
// operating-system user.
func localConn(p *controlplane.Plane) (conn, error) {
	name := "local"
	if u, err := user.Current(); err == nil {
		name = u.Username
	}
	return &local{plane: p, who: auth.Local(name)}, nil
}

// openPlane opens the control plane of the data directory.
func (c *cli) openPlane(ctx context.Context, pf *planeFlags) (*controlplane.Plane, error) {
	return c.openPlaneWith(ctx, pf, controlplane.Options{})
}

// openPlaneWith opens the control plane of the data directory with opts,
// completed from the flags.
func (c *cli) openPlaneWith(ctx context.Context, pf *planeFlags, opts controlplane.Options) (*controlplane.Plane, error) {
	h, err := home(pf.home)
	if err != nil {
		return nil, err
	}
	opts.Database = pf.database
	opts.Passphrase = func() ([]byte, error) { return c.passphrase(false) }
	if pf.pkcs11 != "" {
		cfg, err := custody.ParsePKCS11URL(pf.pkcs11)
		if err != nil {
			return nil, usageErrorf("--pkcs11: %v", err)
		}
		opts.PKCS11 = &cfg
	}
	p, err := controlplane.Open(ctx, h, opts)
	if errors.Is(err, controlplane.ErrNotInitialized) {
		return nil, withHint(err, "create it with 'hallmark init', or name a server with --server or HALLMARK_SERVER")
	}
	return p, err
}

// call runs the operation o on conn with req and decodes its response.
func call[Resp any](ctx context.Context, cn conn, o api.Op, req any) (*Resp, error) {
	body, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	out, err := cn.Call(ctx, o.Name, body)
	if err != nil {
		return nil, apiError(o, err)
	}
	resp := new(Resp)
	if err := json.Unmarshal(out, resp); err != nil {
		return nil, fmt.Errorf("%s: malformed response: %w", o.Name, err)
	}
	return resp, nil
}

// apiError adds the hint that fits a refusal.
func apiError(o api.Op, err error) error {
	var ae *api.Error
	if !errors.As(err, &ae) {
		return fmt.Errorf("%s: %w", o.Name, err)
	}
	err = fmt.Errorf("%s: %s", o.Name, ae.Message)
	switch ae.Status {
	case http.StatusUnauthorized:
		return withHint(err, "check HALLMARK_TOKEN: it may be mistyped, expired or revoked")
	case http.StatusForbidden:
		return withHint(err, "the caller's role or project does not allow this; 'hallmark admin whoami' shows them")
	case http.StatusConflict:
		return err
	case http.StatusTooManyRequests:
		return withHint(err, "slow down and retry")
	}
	if ae.Status >= 500 {
		return fmt.Errorf("%s: the control plane failed: %s", o.Name, ae.Message)
	}
	return err
}
