package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"sync"
	"time"

	"github.com/hallmark-dev/hallmark/api"
	"github.com/hallmark-dev/hallmark/builder"
	"github.com/hallmark-dev/hallmark/buildspec"
	"github.com/hallmark-dev/hallmark/controlplane"
	"github.com/hallmark-dev/hallmark/limit"
	"github.com/hallmark-dev/hallmark/provenance"
	"github.com/hallmark-dev/hallmark/toolchain"
)

const workerUsage = `Usage: hallmark worker [--server URL] [--once] [--poll DURATION] [--work DIR]

Takes queued builds from the control plane, one at a time, and runs each as
'hallmark build' does: every step in its own sandbox, the locked toolchain
verified first. It reports the log, the outputs and the provenance it
observed; the control plane checks them and signs the provenance. Workers
scale out by starting more of them, on as many machines as needed: the queue
hands each build to one worker (on PostgreSQL with row locks that skip the
builds others hold).

A worker is a platform component: it needs the worker role (HALLMARK_TOKEN),
or runs in-process as the data directory's operator.

Flags:
  --once            take at most one build, then exit (0 when the queue was empty too)
  --poll D          how long to wait when the queue is empty (default 2s)
  --work DIR        where sources are unpacked and builds run (default the
                    system's temporary directory)
  --no-download     never download a toolchain missing from the module cache
` + planeFlagsUsage

func runWorker(c *cli, args []string) error {
	fs := c.flagSet("worker", workerUsage)
	pf := addPlaneFlags(fs)
	once := fs.Bool("once", false, "")
	poll := fs.Duration("poll", 2*time.Second, "")
	workDir := fs.String("work", "", "")
	noDownload := fs.Bool("no-download", false, "")
	pos, err := c.parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usageErrorf("worker: takes no arguments")
	}
	if *poll <= 0 {
		return usageErrorf("worker: --poll %s: want a positive duration", *poll)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	cn, err := c.connect(ctx, pf)
	if err != nil {
		return err
	}
	defer cn.Close()
	// The cache of verified toolchains vouches for what it lists: it lives
	// in the worker's own data directory, never in a shared one like /tmp.
	resolver, err := toolchains(pf.home, !*noDownload)
	if err != nil {
		return err
	}
	for {
		job, err := call[api.BuildJob](ctx, cn, api.TakeBuild, &api.BuildRef{Nonce: api.Nonce()})
		if err != nil {
			return err
		}
		if job.ID == "" {
			if *once {
				fmt.Fprintln(c.stderr, "no build queued")
				return nil
			}
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(*poll):
				continue
			}
		}
		fmt.Fprintf(c.stderr, "build %s of project %s taken\n", job.ID, job.Project)
		stream := func(chunk []byte) {
			if _, err := call[api.Empty](ctx, cn, api.LogBuild, &api.BuildLog{Nonce: api.Nonce(), ID: job.ID, Data: chunk}); err != nil {
				fmt.Fprintf(c.stderr, "hallmark: warning: streaming the log of %s: %v\n", job.ID, err)
			}
		}
		report := c.work(ctx, job, resolver, *workDir, stream)
		done, err := call[api.Build](ctx, cn, api.FinishBuild, report)
		if err != nil {
			return err
		}
		fmt.Fprintf(c.stderr, "build %s %s%s\n", done.ID, done.Status, errSuffix(done.Error))
		if *once || ctx.Err() != nil {
			return nil
		}
	}
}

func errSuffix(e string) string {
	if e == "" {
		return ""
	}
	return ": " + e
}

// work runs one build and returns the report for the control plane. Every
// failure, the worker's own included, is reported as the build's.
func (c *cli) work(ctx context.Context, job *api.BuildJob, resolver *toolchain.Resolver, workDir string, stream func([]byte)) *api.BuildFinish {
	report := &api.BuildFinish{Nonce: api.Nonce(), ID: job.ID}
	logs := &boundedLog{max: api.MaxLog}
	// The log goes to the control plane as it is written, a chunk a
	// second, so that 'hallmark submit --wait' and build.get show progress.
	done := make(chan struct{})
	var streamed sync.WaitGroup
	streamed.Go(func() {
		sent := 0
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for {
			select {
			case <-done:
			case <-tick.C:
			}
			if all := logs.bytes(); len(all) > sent {
				stream(all[sent:])
				sent = len(all)
			}
			select {
			case <-done:
				return
			default:
			}
		}
	})
	defer func() { close(done); streamed.Wait() }()
	fail := func(err error) *api.BuildFinish {
		report.Error, report.Log = err.Error(), logs.bytes()
		return report
	}
	spec, err := buildspec.Parse([]byte(job.Spec))
	if err != nil {
		return fail(err)
	}
	dir, err := os.MkdirTemp(workDir, "hallmark-build-")
	if err != nil {
		return fail(err)
	}
	defer os.RemoveAll(dir)
	src, out := filepath.Join(dir, "src"), filepath.Join(dir, "out")
	if err := unpackSource(job.Source, src); err != nil {
		return fail(err)
	}
	res, err := builder.Run(ctx, spec, builder.Options{
		SourceDir: src, OutDir: out, WorkDir: dir, GoModCache: resolver.ModCache, Toolchains: resolver,
		Logs: func(step string) io.Writer {
			return &prefixWriter{w: io.MultiWriter(logs, c.stderr), prefix: step + "| "}
		},
	})
	if err != nil {
		return fail(err)
	}
	host, _ := os.Hostname()
	statement, err := provenance.Statement(res.Provenance(builder.ProvenanceOptions{
		BuilderID: job.BuilderID, BuilderVersion: map[string]string{"hallmark": controlplane.Version},
		InvocationID: job.ID, SourceURI: job.URI, SourceRef: job.Ref, WorkerID: "worker@" + host,
	}))
	if err != nil {
		return fail(err)
	}
	// The control plane takes at most api.MaxOutputs bytes of outputs:
	// more is refused here, before it is read into memory.
	total := int64(0)
	for _, o := range res.Outputs {
		if total += o.Size; total > api.MaxOutputs {
			return fail(fmt.Errorf("outputs over %d bytes, the most a queued build returns", api.MaxOutputs))
		}
		data, err := limit.ReadFile(filepath.Join(out, filepath.FromSlash(o.Path)), o.Size)
		if err != nil {
			return fail(err)
		}
		report.Outputs = append(report.Outputs, api.BuildOutput{Path: o.Path, Data: data})
	}
	report.Succeeded, report.Statement, report.Log = true, statement, logs.bytes()
	return report
}

// unpackSource unpacks a submitted source archive into dir, refusing what
// the control plane refuses at submission (controlplane.CheckSource).
func unpackSource(archive []byte, dir string) error {
	if err := controlplane.CheckSource(archive); err != nil {
		return err
	}
	zr, err := gzip.NewReader(bytes.NewReader(archive))
	if err != nil {
		return err
	}
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		dst := filepath.Join(dir, filepath.FromSlash(h.Name))
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(dst, 0o755); err != nil {
				return err
			}
		case tar.TypeReg:
			if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
				return err
			}
			mode := os.FileMode(0o644)
			if h.Mode&0o111 != 0 {
				mode = 0o755
			}
			f, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
			if err != nil {
				return fmt.Errorf("source: %s: %w", h.Name, err)
			}
			_, err = io.Copy(f, io.LimitReader(tr, h.Size))
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return err
			}
		default:
			return errors.New("source: unexpected entry type")
		}
	}
}

// boundedLog keeps the first max bytes written to it.
type boundedLog struct {
	mu  sync.Mutex
	buf bytes.Buffer
	max int
}

func (l *boundedLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if room := l.max - l.buf.Len(); room > 0 {
		l.buf.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

func (l *boundedLog) bytes() []byte {
	l.mu.Lock()
	defer l.mu.Unlock()
	return bytes.Clone(l.buf.Bytes())
}
