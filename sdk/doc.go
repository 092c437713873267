// Package sdk is everything a restore plugin author imports.
//
// restore restores photographs by diffusion-prior posterior sampling. The host
// owns the score model, a denoiser D(x, σ) ≈ E[x₀ | x = x₀ + σ·n] run by ONNX
// Runtime, and two kinds of plugin shape how it is used:
//
//   - A [Solver] owns the sampling loop (as k-diffusion's samplers do): given a
//     starting sample at σ_max, a budget of denoiser evaluations and a seed, it
//     integrates the reverse SDE or its probability-flow ODE down to a clean
//     image, calling [Denoiser] as often as its budget allows.
//   - A [Guidance] makes each estimate consistent with the measurement. It
//     receives the [Problem] (y, the operator A, σ_y) once per session through
//     [Guidance.Begin], then turns every denoiser estimate x̂₀ into a
//     measurement-consistent x̃₀ through [Guider.Guide].
//
// The host composes the two: the solver is handed a guided denoiser
// x ↦ G(D(x, σ), x, σ), so solvers never see the measurement and guidance never
// sees the loop. Any solver works with any guidance.
//
// # Conventions
//
// Images are float32 [Tensor] values, channels × height × width, in model space
// [-1, 1]; an 8-bit noise level s is 2·s/255 there. Noise follows the
// variance-exploding form x_σ = x₀ + σ·n. The score is (D(x, σ) − x)/σ², the
// reverse SDE is dx = −2σ·∇log p_σ(x) dσ + √(2σ) dw̄ and its probability-flow
// ODE is dx/dσ = (x − D(x, σ))/σ.
//
// # Writing a plugin
//
// A plugin is a program whose main function is one call to [Serve]:
//
//	func main() { sdk.Serve(mySolver{}) }
//
// Every plugin describes itself with [Info]: a name, a version, its kind and
// typed parameters ([FloatParam], [IntParam], [BoolParam], [ChoiceParam]) with
// defaults, ranges and one-line docs. The host validates user values against
// that description before a session starts, and passes them resolved as
// [Params]. The same code runs in process (linked into the host) and out of
// process (over hashicorp/go-plugin gRPC, with the host's denoiser served back
// to the plugin); for a fixed seed both give the same bits. Package sdktest
// checks that in one call.
//
// A plugin's process may serve many restorations, one after another (a host
// keeps it between them) or at once, as a linked-in plugin would: keep
// per-restoration state in the [Guider] that Begin returns or on Sample's
// stack, not in globals.
//
// Randomness must come from [NewRNG] seeded with the request's seed, so that
// results repeat. Long loops must return promptly when their context is
// cancelled; a denoiser call on a cancelled context fails, which is usually
// enough.
package sdk
