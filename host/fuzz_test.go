package host

import (
	"math"
	"testing"
)

// FuzzParseModelInfo feeds the model-metadata parser arbitrary property
// values: it must accept only a contract it can run, or return an error.
func FuzzParseModelInfo(f *testing.F) {
	f.Add("edm-denoiser", "3", "8", "0.002", "80", "0.5", "-1,1")
	f.Add("edm-denoiser", "3", "8", "0.002", "Inf", "0.5", "-1,1")
	f.Add("edm", "0", "-8", "NaN", "Inf", "0", "")
	f.Add("vp", "1", "7", "1e-9", "1e9", "-1", "[0,1]")
	f.Fuzz(func(t *testing.T, param, channels, multiple, smin, smax, sdata, drange string) {
		props := map[string]string{
			"restore.parameterization": param, "restore.channels": channels, "restore.size_multiple": multiple,
			"restore.sigma_min": smin, "restore.sigma_max": smax, "restore.sigma_data": sdata,
			"restore.data_range": drange,
		}
		mi, err := parseModelInfo(props)
		if err != nil {
			return
		}
		if mi.Channels < 1 || mi.SizeMultiple < 1 || !(mi.SigmaMin > 0) || !(mi.SigmaMax > mi.SigmaMin) ||
			math.IsInf(mi.SigmaMax, 0) || !(mi.SigmaData > 0) || math.IsInf(mi.SigmaData, 0) {
			t.Fatalf("accepted %+v from %v", mi, props)
		}
	})
}
