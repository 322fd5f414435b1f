package main

import (
	"context"
	"crypto"
	"errors"
	"sync"

	"github.com/hallmark-dev/hallmark/bundle"
	"github.com/hallmark-dev/hallmark/controlplane"
)

// openPlane opens the control plane of the data directory.
func (c *cli) openPlane(ctx context.Context, homeFlag string) (*controlplane.Plane, error) {
	h, err := home(homeFlag)
	if err != nil {
		return nil, err
	}
	p, err := controlplane.Open(ctx, h, func() ([]byte, error) { return c.passphrase(false) })
	if errors.Is(err, controlplane.ErrNotInitialized) {
		return nil, withHint(err, "create it with 'hallmark init': signatures are logged and timestamped by the control plane")
	}
	return p, err
}

// maxInFlight bounds the appends one command has waiting on the log.
const maxInFlight = 64

// record logs and timestamps every bundle, concurrently, so that their waits
// for a checkpoint overlap.
func record(ctx context.Context, p *controlplane.Plane, bundles []*bundle.Bundle, pub crypto.PublicKey) error {
	errs := make([]error, len(bundles))
	sem := make(chan struct{}, maxInFlight)
	var wg sync.WaitGroup
	for i, b := range bundles {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			errs[i] = p.Record(ctx, b, pub)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}
