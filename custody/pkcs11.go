//go:build cgo

package custody

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"

	"github.com/ThalesGroup/crypto11"
	"github.com/miekg/pkcs11"
)

// PKCS11 keeps keys in a PKCS#11 token (an HSM). A private key is generated
// on the token, sensitive and not extractable, and signs there with
// CKM_ECDSA; Signer refuses a key that is or ever was extractable or not
// sensitive. A key's ref is a PKCS#11 URI naming it by CKA_ID and CKA_LABEL
// (see the package documentation).
//
// A PKCS11 holds the token open, logged in, until Close. It is safe for
// concurrent use; concurrent Sign calls run on a pool of PKCS#11 sessions.
type PKCS11 struct {
	where string // "custody: pkcs11 token LABEL", for errors
	tok   *token

	mu     sync.Mutex
	closed bool
}

var _ Backend = (*PKCS11)(nil)

// token is one open, logged-in token, shared by every PKCS11 on it.
type token struct {
	key    tokenKey
	ctx    *crypto11.Context
	pinSum [sha256.Size]byte
	refs   int        // guarded by tokens.mu
	gen    sync.Mutex // serializes Generate, for unique labels
}

type tokenKey struct{ module, label string }

// tokens are the open tokens of this process.
var tokens = struct {
	mu sync.Mutex
	m  map[tokenKey]*token
	// modules maps a module's resolved path to the path it was first
	// opened by. crypto11 initializes a module once per path, and a
	// library initialized twice fails.
	modules map[string]string
}{m: map[tokenKey]*token{}, modules: map[string]string{}}

// OpenPKCS11 opens the token cfg names and logs in with cfg.PIN. Opening a
// token already open in this process shares it and checks that the PIN is
// the one it was opened with.
//
// Errors say when the module is not found or cannot be loaded, when no
// token has the label, and when the token refuses the PIN (ErrPIN).
func OpenPKCS11(cfg PKCS11Config) (*PKCS11, error) {
	where := fmt.Sprintf("custody: pkcs11 token %q", cfg.TokenLabel)
	switch {
	case cfg.TokenLabel == "":
		return nil, errors.New("custody: pkcs11: no token label")
	case cfg.Module == "":
		return nil, fmt.Errorf("%s: no module path", where)
	case !filepath.IsAbs(cfg.Module):
		return nil, fmt.Errorf("%s: module %s: not an absolute path", where, cfg.Module)
	case cfg.PIN == "":
		return nil, fmt.Errorf("%s: no PIN (give pin-value or pin-source, or set %s)", where, PINEnv)
	}
	// Resolve links, so that one library is one module however it is
	// named.
	resolved, err := filepath.EvalSymlinks(cfg.Module)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s: module %s: not found", where, cfg.Module)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: module: %w", where, err)
	}
	if fi, err := os.Stat(resolved); err != nil || !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: module %s: not a regular file", where, cfg.Module)
	}
	pinSum := sha256.Sum256([]byte(cfg.PIN))
	key := tokenKey{resolved, cfg.TokenLabel}

	tokens.mu.Lock()
	defer tokens.mu.Unlock()
	if t, ok := tokens.m[key]; ok {
		// The library is logged in already and would accept any PIN.
		if subtle.ConstantTimeCompare(pinSum[:], t.pinSum[:]) != 1 {
			return nil, fmt.Errorf("%s: login: %w (the token is open in this process with another PIN)", where, ErrPIN)
		}
		t.refs++
		return &PKCS11{where: where, tok: t}, nil
	}
	module, ok := tokens.modules[resolved]
	if !ok {
		module = cfg.Module
	}
	ctx, err := crypto11.Configure(&crypto11.Config{Path: module, TokenLabel: cfg.TokenLabel, Pin: cfg.PIN})
	if err != nil {
		return nil, openError(where, cfg.Module, err)
	}
	tokens.modules[resolved] = module
	t := &token{key: key, ctx: ctx, pinSum: pinSum, refs: 1}
	tokens.m[key] = t
	return &PKCS11{where: where, tok: t}, nil
}

// openError explains an error from crypto11.Configure. crypto11 does not
// export its errors for a missing module or token, so they are told by
// their text.
func openError(where, module string, err error) error {
	var code pkcs11.Error
	if errors.As(err, &code) {
		switch code {
		case pkcs11.CKR_PIN_INCORRECT, pkcs11.CKR_PIN_INVALID, pkcs11.CKR_PIN_LEN_RANGE:
			return fmt.Errorf("%s: login: %w (%v)", where, ErrPIN, code)
		case pkcs11.CKR_PIN_LOCKED:
			return fmt.Errorf("%s: login: PIN locked (%v); the security officer must unlock it", where, code)
		case pkcs11.CKR_PIN_EXPIRED:
			return fmt.Errorf("%s: login: PIN expired (%v)", where, code)
		case pkcs11.CKR_CRYPTOKI_ALREADY_INITIALIZED:
			return fmt.Errorf("%s: module %s: initialized already in this process, by other code or under another path (%v)", where, module, code)
		}
		return fmt.Errorf("%s: open: %w", where, err)
	}
	switch err.Error() {
	case "could not find PKCS#11 token":
		return fmt.Errorf("%s: no token with this label in module %s", where, module)
	case "failed to create module context: failed to open module":
		return fmt.Errorf("%s: module %s: cannot load it as a PKCS#11 library", where, module)
	}
	return fmt.Errorf("%s: open: %w", where, err)
}

// Name returns "pkcs11".
func (p *PKCS11) Name() string { return "pkcs11" }

// Close releases the token. Once every PKCS11 on the token is closed, the
// token is logged out and the signers they returned fail. Close blocks
// until Sign calls in progress on the token end.
func (p *PKCS11) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil
	}
	p.closed = true
	tokens.mu.Lock()
	defer tokens.mu.Unlock()
	p.tok.refs--
	if p.tok.refs > 0 {
		return nil
	}
	delete(tokens.m, p.tok.key)
	if err := p.tok.ctx.Close(); err != nil {
		return fmt.Errorf("%s: close: %w", p.where, err)
	}
	return nil
}

// context returns the token's crypto11 context, unless p is closed.
func (p *PKCS11) context(where string) (*crypto11.Context, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil, fmt.Errorf("%s: backend is closed", where)
	}
	return p.tok.ctx, nil
}

// Generate creates an ECDSA P-256 key pair on the token with CKA_LABEL
// label and a random 16-byte CKA_ID. The private key is sensitive, not
// extractable, and can only sign (CKA_DECRYPT and CKA_DERIVE false).
//
// Labels are checked unique on the token while holding a lock, so
// concurrent Generate calls in this process never share a label. Another
// process creating the same label at the same moment makes one or both
// calls fail with ErrExists, never two keys with one label.
func (p *PKCS11) Generate(ctx context.Context, label string) (string, crypto.PublicKey, error) {
	where := fmt.Sprintf("%s: generate %q", p.where, label)
	if err := ctx.Err(); err != nil {
		return "", nil, fmt.Errorf("%s: %w", where, err)
	}
	if err := checkLabel(label); err != nil {
		return "", nil, fmt.Errorf("%s: generate: %w", p.where, err)
	}
	c, err := p.context(where)
	if err != nil {
		return "", nil, err
	}
	p.tok.gen.Lock()
	defer p.tok.gen.Unlock()

	if n, err := countLabel(c, label); err != nil {
		return "", nil, fmt.Errorf("%s: find label: %w", where, err)
	} else if n > 0 {
		return "", nil, fmt.Errorf("%s: %w", where, ErrExists)
	}

	id := make([]byte, 16)
	rand.Read(id) // never fails: crypto/rand crashes the program instead
	public, err := crypto11.NewAttributeSetWithIDAndLabel(id, []byte(label))
	if err != nil {
		return "", nil, fmt.Errorf("%s: %w", where, err)
	}
	private := public.Copy()
	for _, a := range []struct {
		t crypto11.AttributeType
		v bool
	}{
		{crypto11.CkaToken, true},
		{crypto11.CkaPrivate, true},
		{crypto11.CkaSensitive, true},
		{crypto11.CkaExtractable, false},
		{crypto11.CkaSign, true},
		{crypto11.CkaDecrypt, false},
		{crypto11.CkaDerive, false},
	} {
		if err := private.Set(a.t, a.v); err != nil {
			return "", nil, fmt.Errorf("%s: %w", where, err)
		}
	}
	key, err := c.GenerateECDSAKeyPairWithAttributes(public, private, elliptic.P256())
	if err != nil {
		return "", nil, fmt.Errorf("%s: %w", where, err)
	}
	fail := func(err error) (string, crypto.PublicKey, error) {
		if derr := key.Delete(); derr != nil {
			return "", nil, fmt.Errorf("%s: %w (and deleting the new key failed: %v)", where, err, derr)
		}
		return "", nil, fmt.Errorf("%s: %w", where, err)
	}
	// Another process may have taken the label meanwhile.
	if n, err := countLabel(c, label); err != nil {
		return fail(fmt.Errorf("find label: %w", err))
	} else if n > 1 {
		return fail(ErrExists)
	}
	if err := checkProtected(c, key); err != nil {
		return fail(err)
	}
	pub, ok := key.Public().(*ecdsa.PublicKey)
	if !ok || pub.Curve != elliptic.P256() {
		return fail(fmt.Errorf("token returned a %T, want a P-256 public key", key.Public()))
	}
	return formatRef(id, label), pub, nil
}

// countLabel returns how many private keys on the token have CKA_LABEL
// label.
func countLabel(c *crypto11.Context, label string) (int, error) {
	keys, err := c.FindPrivateKeys(nil, []byte(label))
	return len(keys), err
}

// checkProtected checks that the private key of key is sensitive and not
// extractable, and always was.
func checkProtected(c *crypto11.Context, key crypto11.Signer) error {
	want := []struct {
		t    crypto11.AttributeType
		name string
		v    bool
	}{
		{crypto11.CkaSensitive, "CKA_SENSITIVE", true},
		{crypto11.CkaAlwaysSensitive, "CKA_ALWAYS_SENSITIVE", true},
		{crypto11.CkaExtractable, "CKA_EXTRACTABLE", false},
		{crypto11.CkaNeverExtractable, "CKA_NEVER_EXTRACTABLE", true},
	}
	types := make([]crypto11.AttributeType, len(want))
	for i, w := range want {
		types[i] = w.t
	}
	attrs, err := c.GetAttributes(key, types)
	if err != nil {
		return fmt.Errorf("read key attributes: %w", err)
	}
	for _, w := range want {
		a := attrs[w.t]
		if a == nil || len(a.Value) != 1 {
			return fmt.Errorf("private key has no %s attribute", w.name)
		}
		if got := a.Value[0] != 0; got != w.v {
			return fmt.Errorf("private key has %s %v, refusing a key that may have left the token", w.name, got)
		}
	}
	return nil
}

// Signer finds key ref on the token, checks that it is protected and that
// it is pub by signing a test digest, and returns a signer for it.
func (p *PKCS11) Signer(ctx context.Context, ref string, pub crypto.PublicKey) (crypto.Signer, error) {
	where := fmt.Sprintf("%s: key %q", p.where, ref)
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	want, err := expectedKey(where, pub)
	if err != nil {
		return nil, err
	}
	id, label, err := parseRef(ref)
	if err != nil {
		return nil, fmt.Errorf("%s: ref: %w", where, err)
	}
	c, err := p.context(where)
	if err != nil {
		return nil, err
	}
	keys, err := c.FindKeyPairs(id, []byte(label))
	if err != nil {
		return nil, fmt.Errorf("%s: find: %w", where, err)
	}
	switch len(keys) {
	case 0:
		return nil, fmt.Errorf("%s: %w", where, ErrNotFound)
	case 1:
	default:
		return nil, fmt.Errorf("%s: %d keys have this CKA_ID and CKA_LABEL", where, len(keys))
	}
	key := keys[0]
	if !want.Equal(key.Public()) {
		return nil, fmt.Errorf("%s: %w", where, ErrWrongKey)
	}
	if err := checkProtected(c, key); err != nil {
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	// The public key object could have been swapped, so ask the private
	// key to prove it is the one, by signing a random digest.
	var test [sha256.Size]byte
	rand.Read(test[:])
	sig, err := key.Sign(rand.Reader, test[:], crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("%s: test signature: %w", where, err)
	}
	if !ecdsa.VerifyASN1(want, test[:], sig) {
		return nil, fmt.Errorf("%s: %w (test signature does not verify)", where, ErrWrongKey)
	}
	return &signer{where: where, pub: want, key: p256Token{key}}, nil
}

// p256Token is a P-256 key on a token. It passes CKM_ECDSA only the first
// 32 bytes of a longer digest: ECDSA uses only as many leftmost bits of
// the digest as the curve order has (SEC 1 section 4.1.3, step 5), and some
// tokens refuse longer input instead of truncating it.
type p256Token struct{ crypto11.Signer }

func (k p256Token) Sign(rand io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	if len(digest) > 32 {
		digest = digest[:32]
	}
	return k.Signer.Sign(rand, digest, opts)
}
