package audittrail

import (
	"testing"

	"github.com/gxp-otel/gxp-otel/exporters/gxpauditexporter/auditformat"
)

func TestTimeCacheFormatsLikeFormatTimeAcrossSeconds(t *testing.T) {
	var c timeCache
	for _, ns := range []int64{1_764_000_005_000_000_000, 1_764_000_005_999_999_999, 1_764_000_006_000_000_001,
		1_764_086_399_999_999_999, 1_764_086_400_000_000_000, 0, 1_764_000_005_000_000_007} {
		if got, want := c.format(ns), auditformat.FormatTime(ns); got != want {
			t.Errorf("%d: got %s want %s", ns, got, want)
		}
	}
}
