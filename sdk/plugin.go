package sdk

import "context"

// Plugin is what every plugin implements: a description of itself.
// A value passed to [Serve] must also implement [Solver] or [Guidance].
type Plugin interface {
	Info() Info
}

// Denoiser is the score model as a solver sees it: D(x, σ) estimates the clean
// image from x = x₀ + σ·n. The host's denoiser is already guided, so its
// output is consistent with the measurement.
//
// Ownership, as with io.Writer's buffer: x stays the caller's, and Denoise
// must not keep it after returning; the tensor Denoise returns becomes the
// caller's, and the denoiser must not keep or change it afterwards. (Out of
// process, the SDK reuses the memory of both for the next tensors it
// receives.)
type Denoiser interface {
	Denoise(ctx context.Context, x *Tensor, sigma float64) (*Tensor, error)
}

// DenoiserFunc adapts a function to the Denoiser interface.
type DenoiserFunc func(ctx context.Context, x *Tensor, sigma float64) (*Tensor, error)

// Denoise calls f.
func (f DenoiserFunc) Denoise(ctx context.Context, x *Tensor, sigma float64) (*Tensor, error) {
	return f(ctx, x, sigma)
}

// SampleRequest is what a solver is given for one restoration.
type SampleRequest struct {
	// X is the starting sample at SigmaMax (the host has already added the
	// noise: pure noise, or a noised rough estimate for a warm start).
	// The solver may overwrite it.
	X *Tensor
	// SigmaMax and SigmaMin bound the noise levels the solver visits; the last
	// denoiser estimate (at SigmaMin or below) is the result.
	SigmaMax, SigmaMin float64
	// Steps is the budget of denoiser evaluations. A second-order solver
	// takes about Steps/2 steps.
	Steps int
	// Seed seeds the solver's own randomness through NewRNG.
	Seed uint64
	// Params are the solver's parameters, validated against its Info.
	Params Params
}

// Solver integrates the reverse diffusion from SigmaMax to SigmaMin over a
// denoiser. It chooses its own σ schedule within the bounds.
type Solver interface {
	Plugin
	Sample(ctx context.Context, d Denoiser, req SampleRequest) (*Tensor, error)
}

// Operator kinds carried in an OperatorSpec.
const (
	OpIdentity   = "identity"   // denoising: A = I
	OpBlur       = "blur"       // deblurring: A = true 2-D convolution with Kernel
	OpMask       = "mask"       // inpainting: A = diag(Mask)
	OpDownsample = "downsample" // super-resolution: A = bicubic antialiasing, then Scale-fold decimation
)

// OperatorSpec describes the measurement operator A in a form that travels
// between processes; package operator turns it into something that computes.
type OperatorSpec struct {
	Kind string
	// Kernel is the point spread function for OpBlur, 1×kh×kw, summing to 1.
	Kernel *Tensor
	// Mask is 1×H×W for OpMask: 1 where a pixel was observed, 0 where missing.
	Mask *Tensor
	// Scale is the factor s ≥ 2 of OpDownsample: an H×W image (H and W
	// multiples of s) is measured as (H/s)×(W/s), as PIL's bicubic
	// Image.resize makes it. It is 0 for every other kind.
	Scale int
}

// Problem is the measurement a guidance plugin must respect: y = A(x) + n,
// n ~ N(0, SigmaY²), all in model space. Y has the shape of A's range: the
// image's for identity, mask and blur, C×(H/s)×(W/s) for downsample, whose
// image is then C×H×W (see operator.ForProblem).
type Problem struct {
	Y        *Tensor
	Operator OperatorSpec
	SigmaY   float64
	Seed     uint64
}

// GuideStep is one denoiser evaluation to be made consistent with the problem.
type GuideStep struct {
	X0    *Tensor // the denoiser's estimate x̂₀ = D(xt, σ); the guider may overwrite it, and the caller must not use it after Guide (out of process, the SDK reuses its memory)
	Xt    *Tensor // the noisy sample it came from; nil unless the guidance's Info sets UsesXt
	Sigma float64 // σ of Xt
	Step  int     // index of this evaluation in the session, from 0
}

// Guidance receives a problem once per session and returns a Guider for it.
type Guidance interface {
	Plugin
	Begin(ctx context.Context, p Problem, params Params) (Guider, error)
}

// Guider turns each estimate x̂₀ into a measurement-consistent x̃₀.
type Guider interface {
	// Guide returns x̃₀ for one evaluation: s.X0 itself, overwritten, or a
	// new tensor. It must not keep s.X0, s.Xt or the tensor it returns
	// after returning (Clone what a later step needs): the SDK reuses their
	// memory for the next tensors a plugin receives.
	Guide(ctx context.Context, s GuideStep) (*Tensor, error)
	// End releases the session.
	End() error
}
