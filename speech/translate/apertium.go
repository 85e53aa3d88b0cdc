package translate

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
)

// ApertiumModes is where Debian's apertium language packages install their
// modes (one NAME.mode file per direction, e.g. eng-spa.mode).
const ApertiumModes = "/usr/share/apertium/modes"

// iso3 maps the ISO 639-3 codes of Apertium's mode names to the BCP-47
// primary subtags sessions use.
var iso3 = map[string]string{
	"eng": "en", "spa": "es", "cat": "ca", "fra": "fr", "por": "pt", "ita": "it",
	"deu": "de", "glg": "gl", "eus": "eu", "ron": "ro", "oci": "oc", "arg": "an",
	"nld": "nl", "afr": "af", "dan": "da", "swe": "sv", "nob": "nb", "nno": "nn",
	"rus": "ru", "ukr": "uk", "bel": "be", "pol": "pl", "ces": "cs", "slk": "sk",
	"bul": "bg", "mkd": "mk", "hbs": "sh", "slv": "sl", "epo": "eo", "isl": "is",
}

// Apertium translates with the Apertium pipelines of the installed language
// packages. Each direction runs as one long-lived pipeline in null-flush
// mode (every program started with -z): a sentence goes in terminated by a
// NUL byte and its translation comes out terminated by one, so the
// dictionaries are loaded once, not per sentence. A pipeline is started on
// its first sentence and serves one sentence at a time.
type Apertium struct {
	pipes map[Pair]*pipeline
}

// NewApertium finds the directions installed in dir (ApertiumModes when
// empty). It starts no process.
func NewApertium(dir string) (*Apertium, error) {
	if dir == "" {
		dir = ApertiumModes
	}
	files, err := filepath.Glob(filepath.Join(dir, "*.mode"))
	if err != nil {
		return nil, err
	}
	a := &Apertium{pipes: map[Pair]*pipeline{}}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".mode")
		from, to, ok := strings.Cut(name, "-")
		if !ok || strings.ContainsAny(to, "_-") { // variants such as spa-eng_US
			continue
		}
		p := Pair{lang(from), lang(to)}
		if _, dup := a.pipes[p]; dup {
			continue
		}
		text, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		a.pipes[p] = &pipeline{cmd: nullFlush(string(text))}
	}
	return a, nil
}

func lang(code string) string {
	if two, ok := iso3[code]; ok {
		return two
	}
	return code
}

// nullFlush turns a mode file's shell pipeline into its null-flush form:
// -z after each program, unknown words unmarked ($1 = -n), no tagger
// option ($2).
func nullFlush(mode string) string {
	stages := strings.Split(strings.TrimSpace(mode), "|")
	for i, s := range stages {
		s = strings.TrimSpace(s)
		prog, args, _ := strings.Cut(s, " ")
		args = strings.ReplaceAll(strings.ReplaceAll(args, "$1", "-n"), "$2", "")
		stages[i] = prog + " -z " + args
	}
	return strings.Join(stages, " | ")
}

// Pairs lists the installed directions.
func (a *Apertium) Pairs() []Pair {
	pairs := make([]Pair, 0, len(a.pipes))
	for p := range a.pipes {
		pairs = append(pairs, p)
	}
	return pairs
}

// Translate translates one text. Line breaks are treated as spaces.
func (a *Apertium) Translate(ctx context.Context, text, from, to string) (string, error) {
	pipe := a.pipes[Pair{primary(from), primary(to)}]
	if pipe == nil {
		return "", fmt.Errorf("apertium %s-%s: %w", from, to, ErrUnsupported)
	}
	if strings.TrimSpace(text) == "" {
		return "", nil
	}
	// A trailing blank ends the last word, so the pipeline flushes it at
	// the NUL rather than waiting for more input.
	out, err := pipe.run(ctx, escape(text)+" ")
	if err != nil {
		return "", fmt.Errorf("apertium %s-%s: %w", from, to, err)
	}
	return unescape(out), nil
}

// Close stops every running pipeline.
func (a *Apertium) Close() error {
	for _, p := range a.pipes {
		p.mu.Lock()
		p.stop()
		p.mu.Unlock()
	}
	return nil
}

// pipeline is one running direction.
type pipeline struct {
	cmd string

	mu   sync.Mutex
	proc *exec.Cmd
	in   io.WriteCloser
	out  *bufio.Reader
}

// run sends one NUL-terminated block and reads its translation. A request
// abandoned by its context leaves the pipeline out of step, so it is killed
// and started again by the next request.
func (p *pipeline) run(ctx context.Context, block string) (string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.proc == nil {
		if err := p.start(); err != nil {
			return "", err
		}
	}
	type result struct {
		s   string
		err error
	}
	done := make(chan result, 1)
	in, out := p.in, p.out
	go func() {
		if _, err := io.WriteString(in, block+"\x00"); err != nil {
			done <- result{err: err}
			return
		}
		s, err := out.ReadString(0)
		done <- result{strings.TrimSuffix(s, "\x00"), err}
	}()
	select {
	case r := <-done:
		if r.err != nil {
			p.stop()
			return "", fmt.Errorf("pipeline ended: %w", r.err)
		}
		return r.s, nil
	case <-ctx.Done():
		p.stop()
		<-done
		return "", ctx.Err()
	}
}

func (p *pipeline) start() error {
	cmd := exec.Command("sh", "-c", p.cmd)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	in, err := cmd.StdinPipe()
	if err != nil {
		return err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start: %w", err)
	}
	p.proc, p.in, p.out = cmd, in, bufio.NewReader(out)
	return nil
}

// stop kills the pipeline's process group; the caller holds mu.
func (p *pipeline) stop() {
	if p.proc == nil {
		return
	}
	_ = syscall.Kill(-p.proc.Process.Pid, syscall.SIGKILL)
	_ = p.in.Close()
	_ = p.proc.Wait()
	p.proc = nil
}

// special are the characters Apertium's stream format reserves.
const special = `\[]^$/@<>{}`

// escape prepares plain text for an Apertium stream: reserved characters
// backslash-escaped, NULs (the framing) dropped, line breaks made spaces.
func escape(text string) string {
	var b strings.Builder
	for _, r := range text {
		switch {
		case r == 0:
		case r == '\n' || r == '\r':
			b.WriteByte(' ')
		case strings.ContainsRune(special, r):
			b.WriteByte('\\')
			b.WriteRune(r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// unescape turns an Apertium output stream back into plain text: escapes
// resolved, superblanks ([...]) dropped, runs of spaces collapsed.
func unescape(s string) string {
	var b strings.Builder
	inBlank := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\' && i+1 < len(s):
			i++
			if !inBlank {
				b.WriteByte(s[i])
			}
		case c == '[' && !inBlank:
			inBlank = true
		case c == ']' && inBlank:
			inBlank = false
		case !inBlank:
			b.WriteByte(c)
		}
	}
	return strings.Join(strings.Fields(b.String()), " ")
}

var _ Translator = (*Apertium)(nil)
