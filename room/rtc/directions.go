package rtc

// Directions is what an offer asks of the room: whether it sends and
// receives audio and video, and its video codecs (those the room knows,
// in the offer's order of preference).
type Directions struct {
	SendsAudio, SendsVideo       bool
	ReceivesAudio, ReceivesVideo bool
	VideoCodecs                  []string
}

// OfferDirections reads an offer's directions, with the checks of
// CheckOffer (hasVideo false: the room is audio-only, whose video m-lines
// are ignored). Ingest and egress protocols (WHIP, WHEP) use it to refuse
// an offer that does not do what they are for.
func OfferDirections(offer string, hasVideo bool) (Directions, error) {
	info, err := CheckOffer(offer, hasVideo)
	if err != nil {
		return Directions{}, err
	}
	d := Directions{
		SendsAudio: info.audio.sends(), ReceivesAudio: info.audio.receives(),
		SendsVideo: info.video.sends(), ReceivesVideo: info.video.receives(),
	}
	if info.video != nil {
		for _, c := range info.video.codecs {
			if c == CodecVP8 || c == CodecH264 {
				d.VideoCodecs = append(d.VideoCodecs, c)
			}
		}
	}
	return d, nil
}
