package repro

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"time"
)

// limitedWriter keeps the first n bytes written and drops the rest.
type limitedWriter struct {
	buf       bytes.Buffer
	n         int
	truncated bool
}

func (w *limitedWriter) Write(p []byte) (int, error) {
	if room := w.n - w.buf.Len(); len(p) > room {
		w.buf.Write(p[:max(room, 0)])
		w.truncated = true
		return len(p), nil
	}
	return w.buf.Write(p)
}

// runDiffoscope runs diffoscope on two files with a timeout and returns its
// text report, cut at opts.MaxDiffoscope bytes.
func runDiffoscope(ctx context.Context, want, got string, opts Options) (string, error) {
	bin, err := exec.LookPath("diffoscope")
	if err != nil {
		return "", errors.New("diffoscope: not on PATH: built-in explanation only")
	}
	ctx, cancel := context.WithTimeout(ctx, opts.DiffoscopeTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "--text", "-", "--no-progress",
		"--max-text-report-size", fmt.Sprint(opts.MaxDiffoscope), "--", want, got)
	out := &limitedWriter{n: opts.MaxDiffoscope}
	errOut := &limitedWriter{n: 2048}
	cmd.Stdout, cmd.Stderr = out, errOut
	cmd.WaitDelay = 5 * time.Second
	ownGroup(cmd)
	err = cmd.Run()
	var exit *exec.ExitError
	switch {
	case ctx.Err() != nil:
		return "", fmt.Errorf("diffoscope: stopped after %s: built-in explanation only", opts.DiffoscopeTimeout)
	case err == nil:
		return "", errors.New("diffoscope: found no differences")
	case errors.As(err, &exit) && exit.ExitCode() == 1:
		s := out.buf.String()
		if out.truncated {
			s += "\n[diffoscope output truncated]\n"
		}
		return s, nil
	}
	msg := strings.TrimSpace(errOut.buf.String())
	if i := strings.LastIndexByte(msg, '\n'); i >= 0 {
		msg = msg[i+1:]
	}
	return "", fmt.Errorf("diffoscope: %v: %s: built-in explanation only", err, msg)
}
