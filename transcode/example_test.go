package transcode_test

import (
	"fmt"

	"github.com/voxgate/voxgate/media"
	"github.com/voxgate/voxgate/media/mediatest"
	"github.com/voxgate/voxgate/transcode"
)

func ExampleChain() {
	// Turn 20 ms PCMU frames from a SIP leg into 16 kHz PCM for a speech
	// engine.
	var samples int
	sink := media.WriterFunc(func(f media.Frame) error {
		samples += len(f.Samples)
		return nil
	})
	pcmu := media.Format{Codec: media.CodecPCMU, SampleRate: 8000}
	w, err := transcode.Chain(pcmu, media.PCM16(16000), sink)
	if err != nil {
		panic(err)
	}
	fmt.Println(w)

	// Encode a tone to PCMU to have something to send.
	enc, _ := transcode.Chain(media.PCM16(8000), pcmu, media.WriterFunc(func(f media.Frame) error {
		return w.WriteFrame(f)
	}))
	tone := mediatest.NewSine(8000, 440, -10)
	var f media.Frame
	for range 50 {
		_ = tone.ReadFrame(&f)
		_ = enc.WriteFrame(f)
	}
	_ = w.WriteFrame(media.Frame{Missing: true}) // a lost packet is concealed
	fmt.Println(samples, "samples,", w.Stats().Concealed, "concealed")
	// Output:
	// PCMU(8000) -> Resample(8000->16000) -> L16/16000 -> WriterFunc
	// 16320 samples, 1 concealed
}
