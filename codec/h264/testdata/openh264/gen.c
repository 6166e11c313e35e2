// gen encodes raw I420 pictures from stdin with OpenH264 into an Annex-B
// stream on stdout, set up the way WebRTC's H264EncoderImpl sets up
// OpenH264 for a camera track: real-time usage, bitrate rate control,
// frame skipping, SPS_LISTING parameter-set ids, CAVLC, one temporal layer,
// IDRs on demand only.
//
//	gen WIDTH HEIGHT FPS BITRATE SLICE_BYTES IDR_AT < in.yuv > out.h264
//
// SLICE_BYTES 0 gives one slice per picture (packetization-mode=1); a
// positive value limits slices to that many bytes, as WebRTC does for
// packetization-mode=0. IDR_AT forces an extra IDR at that picture index
// (0 for none).
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wels/codec_api.h>

int main(int argc, char **argv) {
	if (argc != 7) {
		fprintf(stderr, "usage: gen W H FPS BITRATE SLICE_BYTES IDR_AT\n");
		return 2;
	}
	int w = atoi(argv[1]), h = atoi(argv[2]), fps = atoi(argv[3]);
	int bitrate = atoi(argv[4]), slice_bytes = atoi(argv[5]), idr_at = atoi(argv[6]);

	ISVCEncoder *enc;
	if (WelsCreateSVCEncoder(&enc) != 0) {
		return 1;
	}
	SEncParamExt p;
	(*enc)->GetDefaultParams(enc, &p);
	p.iUsageType = CAMERA_VIDEO_REAL_TIME;
	p.iPicWidth = w;
	p.iPicHeight = h;
	p.iTargetBitrate = bitrate;
	p.iMaxBitrate = UNSPECIFIED_BIT_RATE;
	p.iRCMode = RC_BITRATE_MODE;
	p.fMaxFrameRate = fps;
	p.bEnableFrameSkip = true;
	p.uiIntraPeriod = 0;
	p.eSpsPpsIdStrategy = SPS_LISTING;
	p.uiMaxNalSize = 0;
	p.iMultipleThreadIdc = 1;
	p.iTemporalLayerNum = 1;
	p.iSpatialLayerNum = 1;
	p.sSpatialLayers[0].iVideoWidth = w;
	p.sSpatialLayers[0].iVideoHeight = h;
	p.sSpatialLayers[0].fFrameRate = fps;
	p.sSpatialLayers[0].iSpatialBitrate = bitrate;
	p.sSpatialLayers[0].iMaxSpatialBitrate = UNSPECIFIED_BIT_RATE;
	if (slice_bytes > 0) {
		p.sSpatialLayers[0].sSliceArgument.uiSliceMode = SM_SIZELIMITED_SLICE;
		p.sSpatialLayers[0].sSliceArgument.uiSliceSizeConstraint = slice_bytes;
		p.uiMaxNalSize = slice_bytes;
	} else {
		p.sSpatialLayers[0].sSliceArgument.uiSliceMode = SM_FIXEDSLCNUM_SLICE;
		p.sSpatialLayers[0].sSliceArgument.uiSliceNum = 1;
	}
	if ((*enc)->InitializeExt(enc, &p) != 0) {
		fprintf(stderr, "InitializeExt failed\n");
		return 1;
	}
	int fmt = videoFormatI420;
	(*enc)->SetOption(enc, ENCODER_OPTION_DATAFORMAT, &fmt);

	size_t size = (size_t)w * h * 3 / 2;
	unsigned char *buf = malloc(size);
	SSourcePicture pic;
	memset(&pic, 0, sizeof pic);
	pic.iPicWidth = w;
	pic.iPicHeight = h;
	pic.iColorFormat = videoFormatI420;
	pic.iStride[0] = w;
	pic.iStride[1] = pic.iStride[2] = w / 2;
	pic.pData[0] = buf;
	pic.pData[1] = buf + w * h;
	pic.pData[2] = buf + w * h + (w / 2) * (h / 2);
	for (int n = 0; fread(buf, 1, size, stdin) == size; n++) {
		if (idr_at > 0 && n == idr_at) {
			(*enc)->ForceIntraFrame(enc, true);
		}
		pic.uiTimeStamp = (long long)n * 1000 / fps;
		SFrameBSInfo info;
		memset(&info, 0, sizeof info);
		if ((*enc)->EncodeFrame(enc, &pic, &info) != cmResultSuccess) {
			fprintf(stderr, "EncodeFrame failed at %d\n", n);
			return 1;
		}
		if (info.eFrameType == videoFrameTypeSkip) {
			continue;
		}
		for (int l = 0; l < info.iLayerNum; l++) {
			SLayerBSInfo *li = &info.sLayerInfo[l];
			int len = 0;
			for (int i = 0; i < li->iNalCount; i++) {
				len += li->pNalLengthInByte[i];
			}
			fwrite(li->pBsBuf, 1, len, stdout);
		}
	}
	(*enc)->Uninitialize(enc);
	WelsDestroySVCEncoder(enc);
	free(buf);
	return 0;
}
