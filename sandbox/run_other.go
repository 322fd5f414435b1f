//go:build !linux

package sandbox

import "context"

// Init does nothing where there are no Linux namespaces.
func Init() {}

// Run refuses s or returns ErrUnsupported: there are no Linux namespaces here.
func Run(ctx context.Context, s Spec) (*Result, error) {
	if err := check(s); err != nil {
		return nil, err
	}
	return nil, ErrUnsupported
}
