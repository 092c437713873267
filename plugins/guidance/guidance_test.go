package guidance_test

import (
	"testing"

	"github.com/restorekit/restore/plugins/guidance"
	"github.com/restorekit/restore/sdk/sdktest"
)

func TestConformance(t *testing.T) {
	sdktest.Check(t, guidance.DiffPIR{}, "../cmd/restore-diffpir")
}
