package repro

import (
	"fmt"
	"strings"
)

const (
	maxHunks     = 4   // hunks shown per text diff
	maxDiffLines = 120 // lines shown per text diff
	context3     = 3   // lines of context around a change
	maxLCS       = 4e6 // largest middle (lines × lines) diffed exactly
	maxLineShown = 200 // longest diff line shown
)

// explainText puts a bounded unified diff of a and b in e, unless they are
// over opts.MaxText.
func explainText(e *expl, a, b blob, opts Options) {
	if a.Size() > opts.MaxText || b.Size() > opts.MaxText {
		e.detail("text over %d bytes: no line diff", opts.MaxText)
		return
	}
	da, db := make([]byte, a.Size()), make([]byte, b.Size())
	if n, err := a.ReadAt(da, 0); n != len(da) {
		e.detail("text: want: %v", err)
		return
	}
	if n, err := b.ReadAt(db, 0); n != len(db) {
		e.detail("text: got: %v", err)
		return
	}
	e.setDiff(unified(string(da), string(db)))
}

// op is one line of an edit script: kept (' '), deleted ('-') or inserted
// ('+'); a and b are the line numbers (0-based) in each file at this op.
type op struct {
	kind byte
	a, b int32
}

// lineDiff returns the edit script from a to b, with only context3 of the
// common leading and trailing lines. The middle is diffed by longest
// common subsequence when small enough; otherwise, when both have as many
// lines, lined up by position, and else shown as replaced whole.
func lineDiff(a, b []string) []op {
	pre := 0
	for pre < len(a) && pre < len(b) && a[pre] == b[pre] {
		pre++
	}
	suf := 0
	for suf < len(a)-pre && suf < len(b)-pre && a[len(a)-1-suf] == b[len(b)-1-suf] {
		suf++
	}
	ma, mb := a[pre:len(a)-suf], b[pre:len(b)-suf]
	var ops []op
	add := func(kind byte, i, j int) { ops = append(ops, op{kind, int32(i), int32(j)}) }
	for i := max(pre-context3, 0); i < pre; i++ {
		add(' ', i, i)
	}
	n, m := len(ma), len(mb)
	switch {
	case float64(n+1)*float64(m+1) <= maxLCS:
		// t[i*(m+1)+j]: length of the LCS of ma[i:] and mb[j:].
		w := m + 1
		t := make([]int32, (n+1)*w)
		for i := n - 1; i >= 0; i-- {
			for j := m - 1; j >= 0; j-- {
				if ma[i] == mb[j] {
					t[i*w+j] = t[(i+1)*w+j+1] + 1
				} else {
					t[i*w+j] = max(t[(i+1)*w+j], t[i*w+j+1])
				}
			}
		}
		i, j := 0, 0
		for i < n || j < m {
			switch {
			case i < n && j < m && ma[i] == mb[j]:
				add(' ', pre+i, pre+j)
				i++
				j++
			case i < n && (j == m || t[(i+1)*w+j] >= t[i*w+j+1]):
				add('-', pre+i, pre+j)
				i++
			default:
				add('+', pre+i, pre+j)
				j++
			}
		}
	case n == m:
		// Lined up by position, which is right for files that differ in
		// place (a time or a path in a generated file).
		for i := 0; i < n; {
			if ma[i] == mb[i] {
				add(' ', pre+i, pre+i)
				i++
				continue
			}
			k := i
			for k < n && ma[k] != mb[k] {
				k++
			}
			for x := i; x < k; x++ {
				add('-', pre+x, pre+i)
			}
			for x := i; x < k; x++ {
				add('+', pre+k, pre+x)
			}
			i = k
		}
	default:
		for i := range ma {
			add('-', pre+i, pre)
		}
		for j := range mb {
			add('+', pre+n, pre+j)
		}
	}
	for k := 0; k < min(suf, context3); k++ {
		add(' ', len(a)-suf+k, len(b)-suf+k)
	}
	return ops
}

func splitLines(s string) []string {
	if s == "" {
		return nil
	}
	l := strings.SplitAfter(s, "\n")
	if l[len(l)-1] == "" {
		l = l[:len(l)-1]
	}
	return l
}

// unified renders the first hunks of the diff from a to b.
func unified(a, b string) string {
	la, lb := splitLines(a), splitLines(b)
	ops := lineDiff(la, lb)
	var out strings.Builder
	out.WriteString("--- want\n+++ got\n")
	hunks, lines := 0, 0
	for i := 0; i < len(ops); {
		if ops[i].kind == ' ' {
			i++
			continue
		}
		if hunks == maxHunks || lines >= maxDiffLines {
			rest := 0
			for ; i < len(ops); i++ {
				if ops[i].kind != ' ' {
					rest++
				}
			}
			fmt.Fprintf(&out, "... %d more changed lines not shown\n", rest)
			break
		}
		start := max(i-context3, 0)
		end := i // one past the last op of the hunk
		for j := i; j < len(ops); j++ {
			if ops[j].kind != ' ' {
				end = j + 1
			} else if j-end >= 2*context3 {
				break
			}
		}
		stop := min(end+context3, len(ops))
		var na, nb int
		for _, o := range ops[start:stop] {
			if o.kind != '+' {
				na++
			}
			if o.kind != '-' {
				nb++
			}
		}
		fmt.Fprintf(&out, "@@ -%d,%d +%d,%d @@\n", ops[start].a+1, na, ops[start].b+1, nb)
		for _, o := range ops[start:stop] {
			if lines >= maxDiffLines {
				out.WriteString("...\n")
				break
			}
			var line string
			if o.kind == '+' {
				line = lb[o.b]
			} else {
				line = la[o.a]
			}
			l := strings.TrimSuffix(line, "\n")
			if len(l) > maxLineShown {
				l = l[:maxLineShown] + "..."
			}
			fmt.Fprintf(&out, "%c%s\n", o.kind, l)
			if !strings.HasSuffix(line, "\n") {
				out.WriteString("\\ No newline at end of file\n")
			}
			lines++
		}
		hunks++
		i = stop
	}
	return out.String()
}
