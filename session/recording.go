package session

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"go.uber.org/zap"

	"github.com/voxgate/voxgate/id"
	"github.com/voxgate/voxgate/media/record"
	"github.com/voxgate/voxgate/store"
)

// Recording events (SPEC §3).
const (
	EventRecordingReady  = "recording.ready"
	EventRecordingFailed = "recording.failed"
)

// Recording file statuses.
const (
	RecordingRecording = "recording"
	RecordingReady     = "ready"
	RecordingFailed    = "failed"
)

// RecordingFile is one recording of a session as the API shows it: the
// mixed mono file, or the dual stereo one (customer left, agent right).
type RecordingFile struct {
	ID          string     `json:"id"`
	Object      string     `json:"object"`
	Livemode    bool       `json:"livemode"`
	SessionID   string     `json:"session_id"`
	Channel     string     `json:"channel"` // mixed or dual
	Status      string     `json:"status"`  // recording, ready or failed
	Duration    *float64   `json:"duration"`
	Format      string     `json:"format"`
	Size        *int64     `json:"size"`
	SampleRate  int        `json:"sample_rate"`
	DownloadURL string     `json:"download_url"`
	CreatedAt   time.Time  `json:"created_at"`
	ExpiresAt   *time.Time `json:"expires_at"`
}

// storedRecording keeps where the file is beside the public view.
type storedRecording struct {
	RecordingFile
	File string `json:"file"` // relative to Config.RecordingsDir
}

// recorder writes a live session's recordings: each tick, what each side
// said (its original and synthesized sources, not translations) goes to the
// mixed file and, when asked, the dual one.
type recorder struct {
	files  []*recordingFile
	narrow bool                   // an 8 kHz recording, made from the session's narrow band
	side   [2][FrameSamples]int32 // the tick's sum per side
	pcm    [FrameSamples]int16
	has    [2]bool
}

type recordingFile struct {
	rec *record.Recorder
	row storedRecording
}

// startRecording opens the recordings of a session that asked for them,
// once its first leg or audio arrives. rate is 8000 when every call leg is
// narrowband, 16000 otherwise (or when audio comes from a client).
func (l *live) startRecording(ctx context.Context) {
	s, _, err := l.m.Peek(ctx, l.id)
	if err != nil || !s.Recording.Enabled || s.Ended() {
		return
	}
	if l.m.cfg.RecordingsDir == "" {
		l.log.Warn("recording asked for but no recordings directory is configured")
		return
	}
	l.mu.Lock()
	rate := 8000
	for _, lr := range l.legs {
		if lr.leg.Format().SampleRate > 8000 {
			rate = Rate
		}
	}
	if len(l.legs) == 0 {
		rate = Rate
	}
	l.mu.Unlock()
	channels := []string{"mixed"}
	if s.Recording.Channels == "dual" {
		channels = append(channels, "dual")
	}
	rc := &recorder{narrow: rate == NarrowRate}
	for _, ch := range channels {
		f, err := l.m.newRecordingFile(ctx, l.scope, l.id, ch, rate)
		if err != nil {
			l.log.Error("recording not started", zap.String("channel", ch), zap.Error(err))
			continue
		}
		rc.files = append(rc.files, f)
	}
	if len(rc.files) == 0 {
		return
	}
	l.mu.Lock()
	if l.stopped {
		l.mu.Unlock()
		l.m.finishRecordings(rc)
		return
	}
	l.rec = rc
	l.mu.Unlock()
}

// newRecordingFile creates a recording's file and its row (status recording).
func (m *Manager) newRecordingFile(ctx context.Context, sc store.Scope, sessionID, channel string, rate int) (*recordingFile, error) {
	now := m.store.Now()
	row := storedRecording{RecordingFile: RecordingFile{
		ID: id.New(id.Recording), Object: "recording", Livemode: sc.Livemode, SessionID: sessionID, Channel: channel,
		Status: RecordingRecording, Format: "wav", SampleRate: rate, CreatedAt: now,
	}}
	row.DownloadURL = "/v1/recordings/" + row.ID + "/audio"
	row.File = filepath.Join(sessionID, row.ID+".wav")
	if m.cfg.RecordingRetention > 0 {
		exp := now.Add(m.cfg.RecordingRetention)
		row.ExpiresAt = &exp
	}
	path := filepath.Join(m.cfg.RecordingsDir, row.File)
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, err
	}
	opts := record.Options{SampleRate: rate, Channels: 1}
	if channel == "dual" {
		opts.Channels = 2
	}
	rec, err := record.New(path, opts)
	if err != nil {
		return nil, err
	}
	if err := m.store.Update(ctx, func(tx *store.Tx) error { return m.putRecording(tx, sc, &row, true) }); err != nil {
		_ = rec.Close()
		_ = os.Remove(path)
		return nil, err
	}
	return &recordingFile{rec: rec, row: row}, nil
}

func (m *Manager) putRecording(tx *store.Tx, sc store.Scope, r *storedRecording, creating bool) error {
	data, err := json.Marshal(r)
	if err != nil {
		return err
	}
	rec := store.Record{ID: r.ID, Scope: sc, Status: r.Status, Session: r.SessionID, Data: data, Created: r.CreatedAt, Updated: tx.Now()}
	if creating {
		return tx.Insert(store.Recordings, rec)
	}
	return tx.Put(store.Recordings, rec)
}

// record writes the tick's audio of each side (called by the clock, with
// the live session's lock held).
func (l *live) record() {
	rc := l.rec
	if rc == nil {
		return
	}
	size := frameSamples(rc.narrow)
	for i := range rc.side {
		clear(rc.side[i][:size])
		rc.has[i] = false
	}
	for _, src := range l.sources {
		if src.cur == nil || src.track == Translated {
			continue
		}
		pcm := src.cur.samples(rc.narrow)
		if pcm == nil {
			continue // readied before the recording started
		}
		i := sideOf(src.speaker)
		for j, v := range pcm {
			rc.side[i][j] += int32(v)
		}
		rc.has[i] = true
	}
	for i, side := range []record.Side{record.Customer, record.Agent} {
		if !rc.has[i] {
			continue // the recorder fills a silent side
		}
		out := rc.pcm[:size]
		for j, v := range rc.side[i][:size] {
			out[j] = clip(v)
		}
		for _, f := range rc.files {
			_ = f.rec.Write(side, out) // an error shows at Close
		}
	}
}

func clip(v int32) int16 { return int16(max(-32768, min(32767, v))) }

func sideOf(s Speaker) int {
	if s == SpeakerAgent {
		return 1
	}
	return 0
}

// finishRecordings closes a live session's recordings and marks them ready
// or failed, with their events.
func (m *Manager) finishRecordings(rc *recorder) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, f := range rc.files {
		err := f.rec.Close()
		m.settleRecording(ctx, f.row, err)
	}
}

// settleRecording reads what the file holds and stores the recording as
// ready, or failed when the recorder met an error or the file is unusable.
func (m *Manager) settleRecording(ctx context.Context, row storedRecording, recErr error) {
	path := filepath.Join(m.cfg.RecordingsDir, row.File)
	info, err := record.Repair(path)
	if err == nil {
		err = recErr
	}
	row.Status = RecordingReady
	if err == nil {
		d := info.Duration().Round(time.Millisecond).Seconds()
		row.Duration = &d
		if st, serr := os.Stat(path); serr == nil {
			size := st.Size()
			row.Size = &size
		}
	} else {
		row.Status = RecordingFailed
		m.log.Error("recording failed", zap.String("session_id", row.SessionID), zap.String("recording_id", row.ID), zap.Error(err))
	}
	event := EventRecordingReady
	if row.Status == RecordingFailed {
		event = EventRecordingFailed
	}
	err = m.store.Update(ctx, func(tx *store.Tx) error {
		cur, err := tx.Lookup(store.Recordings, row.ID)
		if err != nil {
			return err
		}
		sc := cur.Scope
		if err := m.putRecording(tx, sc, &row, false); err != nil {
			return err
		}
		data, err := json.Marshal(row.RecordingFile)
		if err != nil {
			return err
		}
		return tx.AddEvent(store.Event{ID: id.New(id.Event), Scope: sc, Type: event, SessionID: row.SessionID, Data: data, Created: tx.Now()})
	})
	if err != nil {
		m.log.Error("recording not settled", zap.String("recording_id", row.ID), zap.Error(err))
	}
}

// RecoverRecordings finishes the recordings a crash left in status
// recording: the file is repaired (everything that reached the disk is
// kept) and the recording becomes ready. Call it at start, before sessions
// go live on this node.
func (m *Manager) RecoverRecordings(ctx context.Context) (int, error) {
	recs, err := m.store.RecordingsWithStatus(ctx, RecordingRecording)
	if err != nil {
		return 0, err
	}
	for _, r := range recs {
		row, err := decodeRecording(r)
		if err != nil {
			return 0, err
		}
		m.settleRecording(ctx, *row, nil)
	}
	return len(recs), nil
}

func decodeRecording(rec store.Record) (*storedRecording, error) {
	var r storedRecording
	if err := json.Unmarshal(rec.Data, &r); err != nil {
		return nil, fmt.Errorf("decode recording %s: %w", rec.ID, err)
	}
	return &r, nil
}

// GetRecording returns a recording of the scope.
func (m *Manager) GetRecording(ctx context.Context, sc store.Scope, recordingID string) (RecordingFile, error) {
	r, err := m.recording(ctx, sc, recordingID)
	if err != nil {
		return RecordingFile{}, err
	}
	return r.RecordingFile, nil
}

func (m *Manager) recording(ctx context.Context, sc store.Scope, recordingID string) (*storedRecording, error) {
	rec, err := m.store.Get(ctx, store.Recordings, sc, recordingID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	return decodeRecording(rec)
}

// ListRecordings returns a page of a session's recordings, newest first.
func (m *Manager) ListRecordings(ctx context.Context, sc store.Scope, sessionID string, lq store.ListQuery) ([]RecordingFile, bool, error) {
	if _, err := m.Get(ctx, sc, sessionID); err != nil {
		return nil, false, err
	}
	lq.SessionID = sessionID
	recs, more, err := m.store.List(ctx, store.Recordings, sc, lq)
	if err != nil {
		return nil, false, err
	}
	out := make([]RecordingFile, 0, len(recs))
	for _, r := range recs {
		row, err := decodeRecording(r)
		if err != nil {
			return nil, false, err
		}
		out = append(out, row.RecordingFile)
	}
	return out, more, nil
}

// ErrRecordingNotReady means the recording is still being written or failed.
var ErrRecordingNotReady = errors.New("session: recording not ready")

// RecordingAudio returns the path of a ready recording's file in the format
// (wav, mp3 or ogg), exporting and caching the compressed ones beside the WAV.
func (m *Manager) RecordingAudio(ctx context.Context, sc store.Scope, recordingID, format string) (string, error) {
	r, err := m.recording(ctx, sc, recordingID)
	if err != nil {
		return "", err
	}
	if r.Status != RecordingReady {
		return "", ErrRecordingNotReady
	}
	wav := filepath.Join(m.cfg.RecordingsDir, r.File)
	if format == "wav" {
		return wav, nil
	}
	dst := wav[:len(wav)-len(".wav")] + "." + format
	if _, err := os.Stat(dst); err == nil {
		return dst, nil
	}
	tmp := dst + "." + id.Secret("tmp", 4)
	if err := record.ExportFile(wav, tmp, record.Format(format)); err != nil {
		_ = os.Remove(tmp)
		return "", err
	}
	if err := os.Rename(tmp, dst); err != nil {
		_ = os.Remove(tmp)
		return "", err
	}
	return dst, nil
}

// SweepRecordings deletes the recordings (files and rows) older than the
// retention and returns how many it deleted.
func (m *Manager) SweepRecordings(ctx context.Context) (int, error) {
	if m.cfg.RecordingRetention <= 0 {
		return 0, nil
	}
	n := 0
	for {
		recs, err := m.store.RecordingsCreatedBefore(ctx, m.store.Now().Add(-m.cfg.RecordingRetention), 100)
		if err != nil || len(recs) == 0 {
			return n, err
		}
		for _, r := range recs {
			row, err := decodeRecording(r)
			if err != nil {
				return n, err
			}
			wav := filepath.Join(m.cfg.RecordingsDir, row.File)
			base := wav[:len(wav)-len(".wav")]
			for _, p := range []string{wav, base + ".mp3", base + ".ogg"} {
				if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
					return n, err
				}
			}
			_ = os.Remove(filepath.Dir(wav)) // the session's directory, once empty
			if err := m.store.Update(ctx, func(tx *store.Tx) error { return tx.Delete(store.Recordings, r.Scope, r.ID) }); err != nil {
				return n, err
			}
			n++
		}
	}
}
