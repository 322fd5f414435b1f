package ca_test

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/asn1"
	"fmt"
	"math/big"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	prototrustroot "github.com/sigstore/protobuf-specs/gen/pb-go/trustroot/v1"
	"github.com/sigstore/sigstore-go/pkg/fulcio/certificate"
	"github.com/sigstore/sigstore-go/pkg/root"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/hallmark-dev/hallmark/ca"
)

const testIssuer = "https://log.hallmark.localhost"

// t0 is the time unit tests issue at; roots are valid a year around it.
var t0 = time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)

var testID = ca.Identity{Project: "web", Builder: "linux-amd64"}

func ecKey(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// newCA returns a CA with a fresh P-256 root key, valid a year either side of t0.
func newCA(t testing.TB) *ca.CA {
	t.Helper()
	return newCAWith(t, ecKey(t), t0.AddDate(-1, 0, 0), t0.AddDate(1, 0, 0))
}

func newCAWith(t testing.TB, key crypto.Signer, notBefore, notAfter time.Time) *ca.CA {
	t.Helper()
	r, err := ca.NewRoot(key, "Hallmark Test CA", notBefore, notAfter)
	if err != nil {
		t.Fatal(err)
	}
	c, err := ca.New(r, key, testIssuer)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestNewRoot(t *testing.T) {
	key := ecKey(t)
	r, err := ca.NewRoot(key, "Hallmark Root", t0, t0.AddDate(10, 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	if err := r.CheckSignatureFrom(r); err != nil {
		t.Errorf("root is not self-signed: %v", err)
	}
	got := struct {
		CN, Issuer                 string
		O                          []string
		IsCA, BCValid, PathLenZero bool
		MaxPathLen                 int
		KeyUsage                   x509.KeyUsage
		ExtKeyUsage                []x509.ExtKeyUsage
		Alg                        x509.SignatureAlgorithm
		NotBefore, NotAfter        time.Time
		HasSKID, SerialPositive    bool
		SerialAtMost160            bool
	}{
		r.Subject.CommonName, r.Issuer.String(), r.Subject.Organization,
		r.IsCA, r.BasicConstraintsValid, r.MaxPathLenZero, r.MaxPathLen,
		r.KeyUsage, r.ExtKeyUsage, r.SignatureAlgorithm, r.NotBefore, r.NotAfter,
		len(r.SubjectKeyId) == 20, r.SerialNumber.Sign() > 0, r.SerialNumber.BitLen() <= 160,
	}
	want := got
	want.CN, want.Issuer, want.O = "Hallmark Root", "CN=Hallmark Root,O=Hallmark", []string{"Hallmark"}
	want.IsCA, want.BCValid, want.PathLenZero, want.MaxPathLen = true, true, true, 0
	want.KeyUsage, want.ExtKeyUsage = x509.KeyUsageCertSign|x509.KeyUsageCRLSign, nil
	want.Alg, want.NotBefore, want.NotAfter = x509.ECDSAWithSHA256, t0, t0.AddDate(10, 0, 0)
	want.HasSKID, want.SerialPositive, want.SerialAtMost160 = true, true, true
	if !reflect.DeepEqual(got, want) {
		t.Errorf("root:\n got %+v\nwant %+v", got, want)
	}
}

func TestNewRootRefuses(t *testing.T) {
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	_, edKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	p224, err := ecdsa.GenerateKey(elliptic.P224(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		signer    crypto.Signer
		cn        string
		nb, na    time.Time
		wantError string
	}{
		{"nil signer", nil, "CA", t0, t0.Add(time.Hour), "signer is nil"},
		{"empty common name", ecKey(t), "", t0, t0.Add(time.Hour), "common name"},
		{"control character in common name", ecKey(t), "CA\n", t0, t0.Add(time.Hour), "common name"},
		{"notAfter before notBefore", ecKey(t), "CA", t0, t0.Add(-time.Hour), "not after notBefore"},
		{"empty validity", ecKey(t), "CA", t0, t0, "not after notBefore"},
		{"RSA key", rsaKey, "CA", t0, t0.Add(time.Hour), "not ECDSA P-256 or P-384"},
		{"Ed25519 key", edKey, "CA", t0, t0.Add(time.Hour), "not ECDSA P-256 or P-384"},
		{"P-224 key", p224, "CA", t0, t0.Add(time.Hour), "not ECDSA P-256 or P-384"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ca.NewRoot(tt.signer, tt.cn, tt.nb, tt.na)
			if err == nil || !strings.Contains(err.Error(), tt.wantError) {
				t.Fatalf("NewRoot: got error %v, want one containing %q", err, tt.wantError)
			}
		})
	}
}

func TestNewRefuses(t *testing.T) {
	key := ecKey(t)
	r, err := ca.NewRoot(key, "Hallmark Test CA", t0, t0.AddDate(1, 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := newCA(t).Issue(key.Public(), testID, t0, 0)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		root      *x509.Certificate
		signer    crypto.Signer
		issuer    string
		wantError string
	}{
		{"nil root", nil, key, testIssuer, "must not be nil"},
		{"nil signer", r, nil, testIssuer, "must not be nil"},
		{"signer of another key", r, ecKey(t), testIssuer, "signer's public key is not root"},
		{"leaf as root", leaf, key, testIssuer, "not a CA certificate"},
		{"empty issuer", r, key, "", "scheme is not https or http"},
		{"issuer without scheme", r, key, "log.hallmark.localhost", "scheme is not https or http"},
		{"ftp issuer", r, key, "ftp://log.hallmark.localhost", "scheme is not https or http"},
		{"issuer without host", r, key, "https:///path", "no host"},
		{"issuer with trailing slash", r, key, testIssuer + "/", "ends in a slash"},
		{"issuer with query", r, key, testIssuer + "?a=b", "user, query or fragment"},
		{"issuer with empty query", r, key, testIssuer + "?", "user, query or fragment"},
		{"issuer with fragment", r, key, testIssuer + "#x", "user, query or fragment"},
		{"issuer with user", r, key, "https://me@log.hallmark.localhost", "user, query or fragment"},
		{"issuer with space", r, key, "https://log.hallmark.localhost/a b", "not printable ASCII"},
		{"issuer with newline", r, key, testIssuer + "\n", "not printable ASCII"},
		{"issuer not canonical", r, key, "HTTPS://log.hallmark.localhost", "not in canonical form"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ca.New(tt.root, tt.signer, tt.issuer)
			if err == nil || !strings.Contains(err.Error(), tt.wantError) {
				t.Fatalf("New: got error %v, want one containing %q", err, tt.wantError)
			}
		})
	}
	for _, issuer := range []string{testIssuer, "http://localhost:8080", "https://hallmark.example/tenants/a"} {
		if _, err := ca.New(r, key, issuer); err != nil {
			t.Errorf("New with issuer %q: %v", issuer, err)
		}
	}
}

func TestIssue(t *testing.T) {
	c := newCA(t)
	key := ecKey(t)
	cert, err := c.Issue(key.Public(), testID, t0, 0)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(c.Root())
	if _, err := cert.Verify(x509.VerifyOptions{Roots: roots, CurrentTime: t0,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning}}); err != nil {
		t.Fatalf("issued certificate does not chain to the root for code signing: %v", err)
	}
	if _, err := cert.Verify(x509.VerifyOptions{Roots: roots, CurrentTime: t0,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}); err == nil {
		t.Error("issued certificate verifies for server authentication")
	}
	if !key.PublicKey.Equal(cert.PublicKey) {
		t.Error("issued certificate is not for the key asked for")
	}

	var sanCritical bool
	for _, e := range cert.Extensions {
		if e.Id.Equal(asn1.ObjectIdentifier{2, 5, 29, 17}) {
			sanCritical = e.Critical
		}
	}
	const wantURI = testIssuer + "/projects/web/builders/linux-amd64"
	type profile struct {
		Subject, Issuer string
		URIs            []string
		DNS, Email, IP  int
		SANCritical     bool
		KeyUsage        x509.KeyUsage
		ExtKeyUsage     []x509.ExtKeyUsage
		UnknownEKU      int
		IsCA, BCValid   bool
		SKIDLen         int
		AKIDIsRootSKID  bool
		Alg             x509.SignatureAlgorithm
	}
	var uris []string
	for _, u := range cert.URIs {
		uris = append(uris, u.String())
	}
	got := profile{
		cert.Subject.String(), cert.Issuer.String(), uris,
		len(cert.DNSNames), len(cert.EmailAddresses), len(cert.IPAddresses), sanCritical,
		cert.KeyUsage, cert.ExtKeyUsage, len(cert.UnknownExtKeyUsage),
		cert.IsCA, cert.BasicConstraintsValid, len(cert.SubjectKeyId),
		bytes.Equal(cert.AuthorityKeyId, c.Root().SubjectKeyId), cert.SignatureAlgorithm,
	}
	want := profile{
		"", "CN=Hallmark Test CA,O=Hallmark", []string{wantURI}, 0, 0, 0, true,
		x509.KeyUsageDigitalSignature, []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning}, 0,
		false, true, 20, true, x509.ECDSAWithSHA256,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("certificate profile:\n got %+v\nwant %+v", got, want)
	}
	if len(cert.RawSubject) != 2 { // an empty SEQUENCE
		t.Errorf("subject is %x, want an empty name", cert.RawSubject)
	}
	if got := c.URI(testID); got != wantURI {
		t.Errorf("URI = %q, want %q", got, wantURI)
	}
}

func TestIssueExtensions(t *testing.T) {
	c := newCA(t)
	cert, err := c.Issue(ecKey(t).Public(), testID, t0, 0)
	if err != nil {
		t.Fatal(err)
	}
	// As sigstore-go and cosign read them.
	ext, err := certificate.ParseExtensions(cert.Extensions)
	if err != nil {
		t.Fatalf("sigstore-go ParseExtensions: %v", err)
	}
	if ext.Issuer != testIssuer {
		t.Errorf("sigstore-go issuer = %q, want %q", ext.Issuer, testIssuer)
	}
	sum, err := certificate.SummarizeCertificate(cert)
	if err != nil {
		t.Fatalf("sigstore-go SummarizeCertificate: %v", err)
	}
	if sum.SubjectAlternativeName != c.URI(testID) {
		t.Errorf("sigstore-go SAN = %q, want %q", sum.SubjectAlternativeName, c.URI(testID))
	}

	// As the Fulcio OID directory specifies them.
	found := map[string]bool{}
	for _, e := range cert.Extensions {
		switch e.Id.String() {
		case "1.3.6.1.4.1.57264.1.1":
			found["1.1"] = true
			if string(e.Value) != testIssuer || e.Critical {
				t.Errorf("1.3.6.1.4.1.57264.1.1 = %q (critical %v), want the raw issuer string, not critical", e.Value, e.Critical)
			}
		case "1.3.6.1.4.1.57264.1.8":
			found["1.8"] = true
			var v asn1.RawValue
			rest, err := asn1.Unmarshal(e.Value, &v)
			if err != nil || len(rest) > 0 || v.Class != asn1.ClassUniversal || v.Tag != asn1.TagUTF8String || string(v.Bytes) != testIssuer || e.Critical {
				t.Errorf("1.3.6.1.4.1.57264.1.8 = %x (critical %v), want a DER UTF8String %q, not critical", e.Value, e.Critical, testIssuer)
			}
		}
	}
	if !found["1.1"] || !found["1.8"] {
		t.Errorf("issuer extensions found: %v, want 1.1 and 1.8", found)
	}
}

func TestIssueLifetime(t *testing.T) {
	c := newCA(t)
	tests := []struct {
		name          string
		now           time.Time
		lifetime      time.Duration
		wantNotBefore time.Time
		wantNotAfter  time.Time
		wantError     string
	}{
		{name: "default", now: t0, wantNotBefore: t0.Add(-time.Minute), wantNotAfter: t0.Add(10 * time.Minute)},
		{name: "one hour", now: t0, lifetime: time.Hour, wantNotBefore: t0.Add(-time.Minute), wantNotAfter: t0.Add(time.Hour)},
		{name: "maximum", now: t0, lifetime: 24 * time.Hour, wantNotBefore: t0.Add(-time.Minute), wantNotAfter: t0.Add(24 * time.Hour)},
		{name: "one second", now: t0, lifetime: time.Second, wantNotBefore: t0.Add(-time.Minute), wantNotAfter: t0.Add(time.Second)},
		{name: "sub-second time truncated", now: t0.Add(500 * time.Millisecond), wantNotBefore: t0.Add(-time.Minute), wantNotAfter: t0.Add(10 * time.Minute)},
		{name: "over maximum", now: t0, lifetime: 24*time.Hour + time.Second, wantError: "lifetime"},
		{name: "negative", now: t0, lifetime: -time.Minute, wantError: "lifetime"},
		{name: "zero time", wantError: "issuing time is zero"},
		{name: "before root", now: t0.AddDate(-2, 0, 0), wantError: "outside the root's validity"},
		{name: "after root", now: t0.AddDate(2, 0, 0), wantError: "outside the root's validity"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cert, err := c.Issue(ecKey(t).Public(), testID, tt.now, tt.lifetime)
			if tt.wantError != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantError) {
					t.Fatalf("Issue: got error %v, want one containing %q", err, tt.wantError)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !cert.NotBefore.Equal(tt.wantNotBefore) || !cert.NotAfter.Equal(tt.wantNotAfter) {
				t.Errorf("validity %v to %v, want %v to %v", cert.NotBefore, cert.NotAfter, tt.wantNotBefore, tt.wantNotAfter)
			}
		})
	}
}

// TestIssueWithinRoot checks that certificates never outlive the root, at
// either end.
func TestIssueWithinRoot(t *testing.T) {
	c := newCAWith(t, ecKey(t), t0, t0.Add(time.Hour))
	for _, tt := range []struct {
		name                        string
		now                         time.Time
		wantNotBefore, wantNotAfter time.Time
	}{
		{"root just valid", t0.Add(30 * time.Second), t0, t0.Add(30*time.Second + 10*time.Minute)},
		{"root about to expire", t0.Add(55 * time.Minute), t0.Add(54 * time.Minute), t0.Add(time.Hour)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cert, err := c.Issue(ecKey(t).Public(), testID, tt.now, 0)
			if err != nil {
				t.Fatal(err)
			}
			if !cert.NotBefore.Equal(tt.wantNotBefore) || !cert.NotAfter.Equal(tt.wantNotAfter) {
				t.Errorf("validity %v to %v, want %v to %v", cert.NotBefore, cert.NotAfter, tt.wantNotBefore, tt.wantNotAfter)
			}
		})
	}
}

func TestIssueSerials(t *testing.T) {
	c := newCA(t)
	pub := ecKey(t).Public()
	seen := map[string]bool{}
	maxBits := 0
	const n = 200
	for range n {
		cert, err := c.Issue(pub, testID, t0, 0)
		if err != nil {
			t.Fatal(err)
		}
		s := cert.SerialNumber
		if s.Sign() <= 0 || s.BitLen() > 159 {
			t.Fatalf("serial %v is not in [1, 2^159)", s)
		}
		if seen[s.String()] {
			t.Fatalf("serial %v issued twice", s)
		}
		seen[s.String()] = true
		maxBits = max(maxBits, s.BitLen())
	}
	// A uniformly random 159-bit serial is under 2^151 with probability
	// 2^-8; all n of them with probability 2^-(8n).
	if maxBits < 151 {
		t.Errorf("the largest of %d serials has %d bits: not random over 159 bits", n, maxBits)
	}
}

func TestIdentityURIs(t *testing.T) {
	c := newCA(t)
	pub := ecKey(t).Public()
	tests := []struct {
		id   ca.Identity
		want string
	}{
		{testID, testIssuer + "/projects/web/builders/linux-amd64"},
		{ca.Identity{"acme/web", "b"}, testIssuer + "/projects/acme%2Fweb/builders/b"},
		{ca.Identity{"a b", "c%d"}, testIssuer + "/projects/a%20b/builders/c%25d"},
		{ca.Identity{"x?y#z", "p;q"}, testIssuer + "/projects/x%3Fy%23z/builders/p%3Bq"},
		{ca.Identity{"...", "a.b"}, testIssuer + "/projects/.../builders/a.b"},
		{ca.Identity{"café", "構築"}, testIssuer + "/projects/caf%C3%A9/builders/%E6%A7%8B%E7%AF%89"},
		{ca.Identity{"a:b@c", "$&+,="}, testIssuer + "/projects/a:b@c/builders/$&+%2C="},
		{ca.Identity{"~_-.", "A~Z"}, testIssuer + "/projects/~_-./builders/A~Z"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if got := c.URI(tt.id); got != tt.want {
				t.Errorf("URI(%q) = %q, want %q", tt.id, got, tt.want)
			}
			cert, err := c.Issue(pub, tt.id, t0, 0)
			if err != nil {
				t.Fatal(err)
			}
			sum, err := certificate.SummarizeCertificate(cert)
			if err != nil {
				t.Fatal(err)
			}
			if sum.SubjectAlternativeName != tt.want {
				t.Errorf("certificate SAN as sigstore-go reads it = %q, want %q", sum.SubjectAlternativeName, tt.want)
			}
		})
	}
}

func TestIssueRefusesIdentities(t *testing.T) {
	c := newCA(t)
	pub := ecKey(t).Public()
	long := strings.Repeat("a", ca.MaxNameLen+1)
	tests := []struct {
		name string
		id   ca.Identity
		want string
	}{
		{"empty project", ca.Identity{"", "b"}, `project "": empty`},
		{"empty builder", ca.Identity{"p", ""}, `builder "": empty`},
		{"newline", ca.Identity{"p\n", "b"}, "non-printable"},
		{"NUL", ca.Identity{"p", "b\x00"}, "non-printable"},
		{"tab", ca.Identity{"p\tq", "b"}, "non-printable"},
		{"DEL", ca.Identity{"p\x7f", "b"}, "non-printable"},
		{"C1 control", ca.Identity{"p\u0085", "b"}, "non-printable"},
		{"bidi override", ca.Identity{"p\u202egnp.exe", "b"}, "non-printable"},
		{"zero width space", ca.Identity{"p", "b\u200b"}, "non-printable"},
		{"no-break space", ca.Identity{"p\u00a0q", "b"}, "non-printable"},
		{"line separator", ca.Identity{"p\u2028", "b"}, "non-printable"},
		{"invalid UTF-8", ca.Identity{"p\xff", "b"}, "not UTF-8"},
		{"leading space", ca.Identity{" p", "b"}, "space"},
		{"trailing space", ca.Identity{"p", "b "}, "space"},
		{"dot", ca.Identity{".", "b"}, "dot segment"},
		{"dot dot", ca.Identity{"p", ".."}, "dot segment"},
		{"too long", ca.Identity{long, "b"}, "over 255"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := c.Issue(pub, tt.id, t0, 0)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Issue(%q): got error %v, want one containing %q", tt.id, err, tt.want)
			}
		})
	}
	if _, err := c.Issue(pub, ca.Identity{strings.Repeat("a", ca.MaxNameLen), "b c"}, t0, 0); err != nil {
		t.Errorf("Issue with the longest name and an inner space: %v", err)
	}
}

func TestIssueKeys(t *testing.T) {
	c := newCA(t)
	gen := func(f func() (crypto.PublicKey, error)) crypto.PublicKey {
		k, err := f()
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	ec := func(curve elliptic.Curve) crypto.PublicKey {
		return gen(func() (crypto.PublicKey, error) {
			k, err := ecdsa.GenerateKey(curve, rand.Reader)
			if err != nil {
				return nil, err
			}
			return k.Public(), nil
		})
	}
	rsaKey := func(bits int) *rsa.PublicKey {
		return gen(func() (crypto.PublicKey, error) {
			k, err := rsa.GenerateKey(rand.Reader, bits)
			if err != nil {
				return nil, err
			}
			return k.Public(), nil
		}).(*rsa.PublicKey)
	}
	rsa2048 := rsaKey(2048)
	badExponent := &rsa.PublicKey{N: rsa2048.N, E: 3}
	oddSize := &rsa.PublicKey{N: new(big.Int).Rsh(rsa2048.N, 4), E: 65537} // 2044 bits
	edPub := gen(func() (crypto.PublicKey, error) { p, _, err := ed25519.GenerateKey(rand.Reader); return p, err })

	tests := []struct {
		name string
		pub  crypto.PublicKey
		want string // "" for success
	}{
		{"ECDSA P-256", ec(elliptic.P256()), ""},
		{"ECDSA P-384", ec(elliptic.P384()), ""},
		{"ECDSA P-521", ec(elliptic.P521()), ""},
		{"RSA 2048", rsa2048, ""},
		{"Ed25519", edPub, ""},
		{"ECDSA P-224", ec(elliptic.P224()), "not P-256, P-384 or P-521"},
		{"RSA 1024", rsaKey(1024), "not 2048 to 4096"},
		{"RSA 2044", oddSize, "not 2048 to 4096"},
		{"RSA exponent 3", badExponent, "exponent 3"},
		{"nil", nil, "key: nil"},
		{"private key", ecKey(t), "is not ECDSA, RSA or Ed25519"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cert, err := c.Issue(tt.pub, testID, t0, 0)
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				if got, ok := cert.PublicKey.(interface{ Equal(crypto.PublicKey) bool }); !ok || !got.Equal(tt.pub) {
					t.Error("certificate is not for the key asked for")
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Issue: got error %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestTrustedRootCA(t *testing.T) {
	c := newCA(t)
	r := c.Root()
	from, to := t0.Add(-time.Hour), t0.Add(time.Hour)
	tests := []struct {
		name             string
		from, to         time.Time
		wantFrom, wantTo time.Time
	}{
		{"root validity", time.Time{}, time.Time{}, r.NotBefore, r.NotAfter},
		{"window", from, to, from, to},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			entry := ca.TrustedRootCA(r, testIssuer, tt.from, tt.to)
			if entry.GetSubject().GetOrganization() != "Hallmark" || entry.GetSubject().GetCommonName() != "Hallmark Test CA" {
				t.Errorf("subject %v, want O=Hallmark CN=Hallmark Test CA", entry.GetSubject())
			}
			if entry.GetUri() != testIssuer {
				t.Errorf("uri %q, want %q", entry.GetUri(), testIssuer)
			}
			if certs := entry.GetCertChain().GetCertificates(); len(certs) != 1 || !bytes.Equal(certs[0].GetRawBytes(), r.Raw) {
				t.Errorf("certChain holds %d certificates, want the root alone", len(certs))
			}
			if got := entry.GetValidFor().GetStart().AsTime(); !got.Equal(tt.wantFrom) {
				t.Errorf("validFor.start %v, want %v", got, tt.wantFrom)
			}
			if got := entry.GetValidFor().GetEnd().AsTime(); !got.Equal(tt.wantTo) {
				t.Errorf("validFor.end %v, want %v", got, tt.wantTo)
			}

			// It reads back as a Fulcio CA through sigstore-go.
			js, err := protojson.Marshal(&prototrustroot.TrustedRoot{
				MediaType:              trustedRootMediaType,
				CertificateAuthorities: []*prototrustroot.CertificateAuthority{entry},
			})
			if err != nil {
				t.Fatal(err)
			}
			tr, err := root.NewTrustedRootFromJSON(js)
			if err != nil {
				t.Fatal(err)
			}
			cas := tr.FulcioCertificateAuthorities()
			if len(cas) != 1 {
				t.Fatalf("%d certificate authorities, want 1", len(cas))
			}
			fca := cas[0].(*root.FulcioCertificateAuthority)
			if !fca.Root.Equal(r) || len(fca.Intermediates) != 0 || fca.URI != testIssuer {
				t.Errorf("sigstore-go reads the CA as root %v, %d intermediates, URI %q", fca.Root.Subject, len(fca.Intermediates), fca.URI)
			}
		})
	}
}

const trustedRootMediaType = "application/vnd.dev.sigstore.trustedroot+json;version=0.1"

// FuzzIdentity checks that every identity Issue accepts gets a URI that
// verifiers read back unchanged and from which the names come back: no two
// identities share a URI.
func FuzzIdentity(f *testing.F) {
	for _, s := range [][2]string{{"web", "linux-amd64"}, {"acme/web", "b"}, {"a b", "c%d"}, {"x?y#z", "p;q"}, {"café", "..."}, {"p\n", "b"}, {"a/../b", "%2F"}} {
		f.Add(s[0], s[1])
	}
	c := newCA(f)
	pub := ecKey(f).Public()
	f.Fuzz(func(t *testing.T, project, builder string) {
		id := ca.Identity{Project: project, Builder: builder}
		cert, err := c.Issue(pub, id, t0, 0)
		if err != nil {
			return
		}
		uri := c.URI(id)
		if len(cert.URIs) != 1 || cert.URIs[0].String() != uri {
			t.Fatalf("certificate SAN %v, want %q", cert.URIs, uri)
		}
		rest, ok := strings.CutPrefix(cert.URIs[0].EscapedPath(), "/projects/")
		if !ok {
			t.Fatalf("SAN path %q does not start with /projects/", cert.URIs[0].EscapedPath())
		}
		p, b, ok := strings.Cut(rest, "/builders/")
		if !ok || strings.Contains(p, "/") || strings.Contains(b, "/") {
			t.Fatalf("SAN path %q is not /projects/P/builders/B", cert.URIs[0].EscapedPath())
		}
		gotP, err1 := url.PathUnescape(p)
		gotB, err2 := url.PathUnescape(b)
		if err1 != nil || err2 != nil || gotP != project || gotB != builder {
			t.Fatalf("SAN %q reads back as %q, %q; want %q, %q", uri, gotP, gotB, project, builder)
		}
	})
}

func ExampleCA_URI() {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	now := time.Now()
	r, _ := ca.NewRoot(key, "Hallmark CA", now, now.AddDate(1, 0, 0))
	c, _ := ca.New(r, key, "https://log.hallmark.localhost")
	fmt.Println(c.URI(ca.Identity{Project: "acme/web", Builder: "linux-amd64"}))
	// Output:
	// https://log.hallmark.localhost/projects/acme%2Fweb/builders/linux-amd64
}
