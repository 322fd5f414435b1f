// Command authenticode is the driver of bench/authenticode.sh: it makes the
// benchmark's keys and certificates, serves a local RFC 3161 TSA over HTTP,
// and signs a PE file end to end with package authenticode (hash, sign,
// timestamp, embed, write), the way osslsigncode sign does.
//
//	authenticode pki -dir D        root.pem, cert.pem (leaf), key.pem (PKCS#8)
//	authenticode tsa -dir D        serve a TSA on 127.0.0.1, write D/tsa.url and D/tsa-root.pem
//	authenticode sign -dir D [-ts URL] -in F -out G
package main

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/digitorus/timestamp"
	"github.com/hallmark-dev/hallmark/authenticode"
	"github.com/hallmark-dev/hallmark/limit"
	"github.com/hallmark-dev/hallmark/tsa"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: authenticode pki|tsa|sign [flags]")
		os.Exit(2)
	}
	fs := flag.NewFlagSet(os.Args[1], flag.ExitOnError)
	dir := fs.String("dir", ".", "directory of the keys and certificates")
	in := fs.String("in", "", "PE file to sign")
	out := fs.String("out", "", "signed file")
	ts := fs.String("ts", "", "RFC 3161 TSA URL")
	keyType := fs.String("key", "rsa", "pki: rsa (RSA 2048, as osslsigncode users mostly have) or ecdsa")
	fs.Parse(os.Args[2:])
	var err error
	switch os.Args[1] {
	case "pki":
		err = makePKI(*dir, *keyType)
	case "tsa":
		err = serveTSA(*dir)
	case "sign":
		err = sign(*dir, *in, *out, *ts)
	default:
		err = fmt.Errorf("unknown command %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "authenticode:", err)
		os.Exit(1)
	}
}

func writePEM(path, typ string, der ...[]byte) error {
	var b []byte
	for _, d := range der {
		b = append(b, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: d})...)
	}
	return os.WriteFile(path, b, 0o600)
}

func makePKI(dir, keyType string) error {
	notBefore, notAfter := time.Now().Add(-time.Hour), time.Now().Add(30*24*time.Hour)
	rootKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	rootTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Bench Code Signing Root"},
		NotBefore: notBefore, NotAfter: notAfter, KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true, IsCA: true}
	rootDER, err := x509.CreateCertificate(rand.Reader, rootTmpl, rootTmpl, rootKey.Public(), rootKey)
	if err != nil {
		return err
	}
	root, _ := x509.ParseCertificate(rootDER)
	var key crypto.Signer
	if keyType == "ecdsa" {
		key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	} else {
		key, err = rsa.GenerateKey(rand.Reader, 2048)
	}
	if err != nil {
		return err
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, &x509.Certificate{SerialNumber: big.NewInt(2),
		Subject: pkix.Name{CommonName: "Bench Signer"}, NotBefore: notBefore, NotAfter: notAfter,
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning}}, root, key.Public(), rootKey)
	if err != nil {
		return err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return err
	}
	return errors.Join(writePEM(filepath.Join(dir, "root.pem"), "CERTIFICATE", rootDER),
		writePEM(filepath.Join(dir, "cert.pem"), "CERTIFICATE", leafDER),
		writePEM(filepath.Join(dir, "key.pem"), "PRIVATE KEY", keyDER))
}

func serveTSA(dir string) error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	chain, _, err := tsa.NewChain(key, "Bench", time.Now().Add(-time.Hour), time.Now().Add(30*24*time.Hour))
	if err != nil {
		return err
	}
	a, err := tsa.New(tsa.Config{Signer: key, Chain: chain})
	if err != nil {
		return err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	if err := writePEM(filepath.Join(dir, "tsa-root.pem"), "CERTIFICATE", chain[len(chain)-1].Raw); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "tsa.url"), []byte("http://"+l.Addr().String()+"/"), 0o644); err != nil {
		return err
	}
	return http.Serve(l, a)
}

// readPEM returns the DER bytes of the PEM blocks in the file at path, at
// least one.
func readPEM(path string) ([][]byte, error) {
	b, err := limit.ReadFile(path, limit.Key)
	if err != nil {
		return nil, err
	}
	var ders [][]byte
	for {
		var blk *pem.Block
		if blk, b = pem.Decode(b); blk == nil {
			break
		}
		ders = append(ders, blk.Bytes)
	}
	if len(ders) == 0 {
		return nil, fmt.Errorf("%s: no PEM block", path)
	}
	return ders, nil
}

func sign(dir, in, out, tsaURL string) error {
	certs, err := readPEM(filepath.Join(dir, "cert.pem"))
	if err != nil {
		return err
	}
	leaf, err := x509.ParseCertificate(certs[0])
	if err != nil {
		return err
	}
	keys, err := readPEM(filepath.Join(dir, "key.pem"))
	if err != nil {
		return err
	}
	k, err := x509.ParsePKCS8PrivateKey(keys[0])
	if err != nil {
		return err
	}
	s := &authenticode.Signer{Key: k.(crypto.Signer), Chain: []*x509.Certificate{leaf}}
	if tsaURL != "" {
		s.Timestamp = func(ctx context.Context, sig []byte) ([]byte, error) {
			req, err := timestamp.CreateRequest(bytes.NewReader(sig), &timestamp.RequestOptions{Hash: crypto.SHA256, Certificates: true})
			if err != nil {
				return nil, err
			}
			hr, _ := http.NewRequestWithContext(ctx, http.MethodPost, tsaURL, bytes.NewReader(req))
			hr.Header.Set("Content-Type", "application/timestamp-query")
			resp, err := http.DefaultClient.Do(hr)
			if err != nil {
				return nil, err
			}
			defer resp.Body.Close()
			body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
			if err != nil {
				return nil, err
			}
			return authenticode.TokenFromResponse(body)
		}
	}
	_, err = authenticode.SignFile(context.Background(), in, out, s.Sign, authenticode.Options{})
	return err
}
