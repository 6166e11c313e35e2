package plainrtp

import "testing"

func TestImageattrRecvPixels(t *testing.T) {
	cases := []struct {
		value  string
		pt     uint8
		pixels int
		ok     bool
	}{
		{"97 recv [x=352,y=288]", 97, 352 * 288, true},
		{"97 send [x=1280,y=720] recv [x=352,y=288]", 97, 352 * 288, true},
		{"97 recv [x=352,y=288] send [x=1280,y=720]", 97, 352 * 288, true},
		{"* recv [x=640,y=360]", 100, 640 * 360, true},
		{"96 recv [x=640,y=360]", 97, 0, false},
		{"97 recv [x=[320:640],y=[180:360]]", 97, 640 * 360, true},
		{"97 recv [x=[176:16:360],y=[144:16:300]]", 97, 352 * 288, true},
		{"97 recv [x=[320,1280,640],y=[180,720]]", 97, 1280 * 720, true},
		{"97 recv [x=320,y=240] [x=800,y=600,sar=1.1,q=0.6]", 97, 800 * 600, true},
		{"97  recv\t[x=320, y=240]", 97, 320 * 240, true},
		{"97 RECV [X=320,Y=240]", 97, 320 * 240, true},
		{"97 recv *", 97, 0, false},
		{"97 send [x=320,y=240]", 97, 0, false},
		{"97 recv", 97, 0, false},
		{"97 recv [x=320]", 97, 0, false},
		{"97 recv [x=320,y=abc]", 97, 0, false},
		{"97 recv [x=[640:320],y=240]", 97, 0, false},
		{"97 recv [x=[1:0:640],y=240]", 97, 0, false},
		{"97 recv [x=[1:2:3:4],y=240]", 97, 0, false},
		{"97 recv [x=-5,y=240]", 97, 0, false},
		{"97 recv [x=320,y=240", 97, 0, false},
		{"97 recv [x=99999999999999999999999,y=99999999999999999999]", 97, maxImageSide * maxImageSide, true},
		{"97 recv ]]][[[", 97, 0, false},
		{"x recv [x=320,y=240]", 97, 0, false},
		{"", 97, 0, false},
	}
	for _, c := range cases {
		pixels, ok := imageattrRecvPixels(c.value, c.pt)
		if pixels != c.pixels || ok != c.ok {
			t.Errorf("%q: %d, %v; want %d, %v", c.value, pixels, ok, c.pixels, c.ok)
		}
	}
}
