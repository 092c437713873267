package sdk

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/restorekit/restore/internal/pb"
)

// ProtocolVersion is the version of the host–plugin wire protocol.
const ProtocolVersion = 1

// MaxMessageBytes is the largest gRPC message either side accepts: a
// 24-megapixel RGB float32 tensor is 288 MiB, far over gRPC's 4 MiB default.
const MaxMessageBytes = 1 << 30

// Handshake is the go-plugin handshake shared by the host and every plugin.
// It is not a security measure; it only keeps a plugin from being run by hand.
var Handshake = plugin.HandshakeConfig{
	ProtocolVersion:  ProtocolVersion,
	MagicCookieKey:   "RESTORE_PLUGIN_MAGIC_COOKIE",
	MagicCookieValue: "d1ffus10n-p0ster10r-sampl1ng",
}

// served is how a plugin process's servers move tensors (set by Serve).
var served wire

// Names of the entries in the go-plugin plugin set.
const (
	pluginInfo     = "info"
	pluginSolver   = "solver"
	pluginGuidance = "guidance"
)

// Serve runs p as a plugin; it is the whole main function of a plugin binary.
// p must implement [Solver] or [Guidance]. Serve does not return.
func Serve(p Plugin) {
	if err := checkServable(p); err != nil {
		panic(err)
	}
	served = pluginWire()
	tunePluginGC()
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig:  Handshake,
		VersionedPlugins: PluginSets(p),
		GRPCServer: func(opts []grpc.ServerOption) *grpc.Server {
			return grpc.NewServer(append(opts, ServerOptions()...)...)
		},
	})
}

func checkServable(p Plugin) error {
	if p == nil {
		return errors.New("sdk.Serve: nil plugin")
	}
	info := p.Info()
	if err := info.Validate(); err != nil {
		return fmt.Errorf("sdk.Serve: %w", err)
	}
	switch info.Kind {
	case KindSolver:
		if _, ok := p.(Solver); !ok {
			return fmt.Errorf("sdk.Serve: %s says it is a solver but has no Sample method", info.Name)
		}
	case KindGuidance:
		if _, ok := p.(Guidance); !ok {
			return fmt.Errorf("sdk.Serve: %s says it is guidance but has no Begin method", info.Name)
		}
	}
	return nil
}

// ServerOptions are the gRPC server options both sides use (message size
// limits, flow-control windows).
func ServerOptions() []grpc.ServerOption {
	return []grpc.ServerOption{grpc.MaxRecvMsgSize(MaxMessageBytes), grpc.MaxSendMsgSize(MaxMessageBytes),
		grpc.InitialWindowSize(flowWindow), grpc.InitialConnWindowSize(flowWindow),
		grpc.ReadBufferSize(ioBuffer), grpc.WriteBufferSize(ioBuffer)}
}

// DialOptions are the gRPC dial options both sides use (message size limits).
func DialOptions() []grpc.DialOption {
	return []grpc.DialOption{grpc.WithDefaultCallOptions(
		grpc.MaxCallRecvMsgSize(MaxMessageBytes), grpc.MaxCallSendMsgSize(MaxMessageBytes)),
		grpc.WithInitialWindowSize(flowWindow), grpc.WithInitialConnWindowSize(flowWindow),
		grpc.WithReadBufferSize(ioBuffer), grpc.WithWriteBufferSize(ioBuffer)}
}

// flowWindow and ioBuffer size HTTP/2 flow control and socket buffers for
// messages of megabytes (a 512×512 RGB tensor is 3 MB): with gRPC's 64 kB
// defaults every tensor crossed in dozens of window updates.
const (
	flowWindow = 16 << 20
	ioBuffer   = 1 << 20
)

// PluginSets is the go-plugin VersionedPlugins map. A plugin passes its
// implementation; the host passes nil and dispenses "info", then "solver" or
// "guidance", from the client.
func PluginSets(impl Plugin) map[int]plugin.PluginSet {
	return map[int]plugin.PluginSet{
		ProtocolVersion: {
			pluginInfo:     &grpcPlugin{impl: impl, kind: pluginInfo},
			pluginSolver:   &grpcPlugin{impl: impl, kind: pluginSolver},
			pluginGuidance: &grpcPlugin{impl: impl, kind: pluginGuidance},
		},
	}
}

// Dispense returns the plugin behind a connected go-plugin client as a
// [Solver] or [Guidance] (whichever it is), with its Info already fetched.
func Dispense(c plugin.ClientProtocol) (Plugin, error) {
	raw, err := c.Dispense(pluginInfo)
	if err != nil {
		return nil, err
	}
	ri := raw.(*remoteInfo)
	info := ri.info
	if err := info.Validate(); err != nil {
		return nil, err
	}
	switch info.Kind {
	case KindSolver:
		s, err := c.Dispense(pluginSolver)
		if err != nil {
			return nil, err
		}
		rs := s.(*remoteSolver)
		rs.info, rs.w.send = info, ri.sharedFiles
		return rs, nil
	case KindGuidance:
		g, err := c.Dispense(pluginGuidance)
		if err != nil {
			return nil, err
		}
		rg := g.(*remoteGuidance)
		rg.info, rg.w.send = info, ri.sharedFiles
		return rg, nil
	}
	return nil, fmt.Errorf("plugin %s: unknown kind %q", info.Name, info.Kind)
}

// grpcPlugin is the go-plugin glue for one entry of the plugin set.
type grpcPlugin struct {
	plugin.NetRPCUnsupportedPlugin
	impl Plugin
	kind string
}

// GRPCServer registers every service the implementation supports; go-plugin
// calls it once per entry, so only the "info" entry registers.
func (g *grpcPlugin) GRPCServer(broker *plugin.GRPCBroker, s *grpc.Server) error {
	if g.kind != pluginInfo {
		return nil
	}
	pb.RegisterPluginServer(s, &infoServer{impl: g.impl, w: served})
	if sv, ok := g.impl.(Solver); ok {
		pb.RegisterSolverServer(s, &solverServer{impl: sv, broker: broker, w: served})
	}
	if gd, ok := g.impl.(Guidance); ok {
		pb.RegisterGuidanceServer(s, &guidanceServer{impl: gd, sessions: map[uint64]Guider{}, w: served})
	}
	return nil
}

// GRPCClient returns the host-side stub for this entry.
func (g *grpcPlugin) GRPCClient(ctx context.Context, broker *plugin.GRPCBroker, c *grpc.ClientConn) (interface{}, error) {
	switch g.kind {
	case pluginInfo:
		ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		m, err := pb.NewPluginClient(c).Info(ctx, &pb.Empty{})
		if err != nil {
			return nil, fmt.Errorf("info: %w", err)
		}
		if m.GetProtocol() != ProtocolVersion {
			return nil, fmt.Errorf("plugin speaks protocol %d, host speaks %d", m.GetProtocol(), ProtocolVersion)
		}
		return &remoteInfo{info: infoFromPB(m), sharedFiles: m.GetSharedFiles()}, nil
	case pluginSolver:
		return &remoteSolver{c: pb.NewSolverClient(c), broker: broker}, nil
	case pluginGuidance:
		return &remoteGuidance{c: pb.NewGuidanceClient(c)}, nil
	}
	return nil, fmt.Errorf("unknown plugin entry %q", g.kind)
}

// toStatus turns a plugin-side error into a gRPC status that keeps its meaning.
func toStatus(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, context.Canceled):
		return status.Error(codes.Canceled, err.Error())
	case errors.Is(err, context.DeadlineExceeded):
		return status.Error(codes.DeadlineExceeded, err.Error())
	case errors.Is(err, ErrParam), errors.Is(err, ErrShape):
		return status.Error(codes.InvalidArgument, err.Error())
	}
	return status.Error(codes.Unknown, err.Error())
}

// fromStatus turns a gRPC error back into an error that errors.Is can test.
func fromStatus(ctx context.Context, err error) error {
	if err == nil {
		return nil
	}
	if ctx.Err() != nil {
		return fmt.Errorf("%w (%v)", ctx.Err(), err)
	}
	st, ok := status.FromError(err)
	if !ok {
		return err
	}
	switch st.Code() {
	case codes.Canceled:
		return fmt.Errorf("%w: %s", context.Canceled, st.Message())
	case codes.DeadlineExceeded:
		return fmt.Errorf("%w: %s", context.DeadlineExceeded, st.Message())
	case codes.InvalidArgument:
		return fmt.Errorf("%w: %s", ErrParam, st.Message())
	case codes.Unavailable:
		return fmt.Errorf("%w: %s", ErrPluginGone, st.Message())
	}
	return errors.New(st.Message())
}

// ErrPluginGone reports a plugin process that stopped answering.
var ErrPluginGone = errors.New("plugin process is gone")

// --- info ---

type infoServer struct {
	pb.UnimplementedPluginServer
	impl Plugin
	w    wire
}

func (s *infoServer) Info(context.Context, *pb.Empty) (*pb.PluginInfo, error) {
	m := infoToPB(s.impl.Info())
	m.SharedFiles = s.w.dir != ""
	return m, nil
}

type remoteInfo struct {
	info        Info
	sharedFiles bool // the plugin reads tensors as files
}

// --- solver ---

type solverServer struct {
	pb.UnimplementedSolverServer
	impl   Solver
	broker *plugin.GRPCBroker
	w      wire
}

func (s *solverServer) Sample(ctx context.Context, req *pb.SampleRequest) (*pb.Tensor, error) {
	x, err := s.w.decode(req.GetX())
	if err != nil {
		return nil, toStatus(err)
	}
	if x == nil {
		return nil, toStatus(fmt.Errorf("%w: no starting sample", ErrShape))
	}
	params, err := s.impl.Info().Resolve(req.GetParams())
	if err != nil {
		return nil, toStatus(err)
	}
	conn, err := s.broker.DialWithOptions(req.GetDenoiserBrokerId(), DialOptions()...)
	if err != nil {
		return nil, status.Errorf(codes.Unavailable, "dial host denoiser: %v", err)
	}
	defer conn.Close()
	d := &remoteDenoiser{c: pb.NewDenoiserClient(conn), w: s.w}
	out, err := s.impl.Sample(ctx, d, SampleRequest{
		X: x, SigmaMax: req.GetSigmaMax(), SigmaMin: req.GetSigmaMin(),
		Steps: int(req.GetSteps()), Seed: req.GetSeed(), Params: params,
	})
	if err != nil {
		return nil, toStatus(err)
	}
	if err := out.Validate(); err != nil {
		return nil, toStatus(err)
	}
	return s.w.encode(out), nil
}

type remoteSolver struct {
	info   Info
	c      pb.SolverClient
	broker *plugin.GRPCBroker
	w      wire
}

func (r *remoteSolver) Info() Info { return r.info }

func (r *remoteSolver) Sample(ctx context.Context, d Denoiser, req SampleRequest) (*Tensor, error) {
	id := r.broker.NextId()
	srv := serveBroker(r.broker, id, func(s *grpc.Server) {
		pb.RegisterDenoiserServer(s, &denoiserServer{impl: d, session: ctx, w: r.w})
	})
	defer srv.stop()
	resp, err := r.c.Sample(ctx, &pb.SampleRequest{
		DenoiserBrokerId: id, X: r.w.encode(req.X), SigmaMax: req.SigmaMax, SigmaMin: req.SigmaMin,
		Steps: int32(req.Steps), Seed: req.Seed, Params: req.Params.Map(),
	})
	if err != nil {
		return nil, fromStatus(ctx, err)
	}
	return r.w.decode(resp)
}

// brokerServer is a gRPC server served over the go-plugin broker for one session.
type brokerServer struct {
	mu      sync.Mutex
	srv     *grpc.Server
	stopped bool
}

func serveBroker(b *plugin.GRPCBroker, id uint32, register func(*grpc.Server)) *brokerServer {
	bs := &brokerServer{}
	go b.AcceptAndServe(id, func(opts []grpc.ServerOption) *grpc.Server {
		s := grpc.NewServer(append(opts, ServerOptions()...)...)
		register(s)
		bs.mu.Lock()
		defer bs.mu.Unlock()
		bs.srv = s
		if bs.stopped {
			// The session ended before the plugin dialled: stop as soon as Serve starts.
			go s.Stop()
		}
		return s
	})
	return bs
}

func (bs *brokerServer) stop() {
	bs.mu.Lock()
	defer bs.mu.Unlock()
	bs.stopped = true
	if bs.srv != nil {
		bs.srv.Stop()
	}
}

// --- denoiser, served by the host back to a solver plugin ---

type denoiserServer struct {
	pb.UnimplementedDenoiserServer
	impl    Denoiser
	session context.Context // the host's context for the whole Sample call
	w       wire
}

func (s *denoiserServer) Denoise(ctx context.Context, req *pb.DenoiseRequest) (*pb.Tensor, error) {
	if err := s.session.Err(); err != nil {
		return nil, toStatus(err)
	}
	x, err := s.w.decode(req.GetX())
	if err != nil || x == nil {
		return nil, toStatus(fmt.Errorf("%w: denoiser input: %v", ErrShape, err))
	}
	out, err := s.impl.Denoise(s.session, x, req.GetSigma())
	if err != nil {
		recycle(x) // Denoiser's contract: not kept
		return nil, toStatus(err)
	}
	m := s.w.encode(out)
	recycle(x, out) // x not kept, out ours now (and perhaps x itself): both done with once on the wire
	return m, nil
}

type remoteDenoiser struct {
	c pb.DenoiserClient
	w wire
}

func (r *remoteDenoiser) Denoise(ctx context.Context, x *Tensor, sigma float64) (*Tensor, error) {
	resp, err := r.c.Denoise(ctx, &pb.DenoiseRequest{X: r.w.encode(x), Sigma: sigma})
	if err != nil {
		return nil, fromStatus(ctx, err)
	}
	return r.w.decode(resp)
}

// --- guidance ---

type guidanceServer struct {
	pb.UnimplementedGuidanceServer
	impl     Guidance
	mu       sync.Mutex
	next     uint64
	sessions map[uint64]Guider
	w        wire
}

func (s *guidanceServer) Begin(ctx context.Context, req *pb.BeginRequest) (*pb.BeginResponse, error) {
	y, err := s.w.decode(req.GetY())
	if err != nil {
		return nil, toStatus(err)
	}
	op, err := operatorFromPB(req.GetOperator())
	if err != nil {
		return nil, toStatus(err)
	}
	params, err := s.impl.Info().Resolve(req.GetParams())
	if err != nil {
		return nil, toStatus(err)
	}
	g, err := s.impl.Begin(ctx, Problem{Y: y, Operator: op, SigmaY: req.GetSigmaY(), Seed: req.GetSeed()}, params)
	if err != nil {
		return nil, toStatus(err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.next++
	s.sessions[s.next] = g
	return &pb.BeginResponse{Session: s.next}, nil
}

func (s *guidanceServer) session(id uint64) (Guider, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g, ok := s.sessions[id]
	if !ok {
		return nil, status.Errorf(codes.NotFound, "no guidance session %d", id)
	}
	return g, nil
}

func (s *guidanceServer) Guide(ctx context.Context, req *pb.GuideRequest) (*pb.Tensor, error) {
	g, err := s.session(req.GetSession())
	if err != nil {
		return nil, err
	}
	x0, err := s.w.decode(req.GetX0())
	if err != nil {
		return nil, toStatus(err)
	}
	xt, err := s.w.decode(req.GetXt())
	if err != nil {
		return nil, toStatus(err)
	}
	out, err := g.Guide(ctx, GuideStep{X0: x0, Xt: xt, Sigma: req.GetSigma(), Step: int(req.GetStep())})
	if err != nil {
		return nil, toStatus(err)
	}
	if err := out.Validate(); err != nil {
		return nil, toStatus(err)
	}
	m := s.w.encode(out)
	recycle(x0, xt, out) // Guider's contract: none of them kept, and out is on the wire
	return m, nil
}

func (s *guidanceServer) End(_ context.Context, req *pb.EndRequest) (*pb.Empty, error) {
	s.mu.Lock()
	g, ok := s.sessions[req.GetSession()]
	delete(s.sessions, req.GetSession())
	s.mu.Unlock()
	if ok {
		if err := g.End(); err != nil {
			return nil, toStatus(err)
		}
	}
	return &pb.Empty{}, nil
}

type remoteGuidance struct {
	info Info
	c    pb.GuidanceClient
	w    wire
}

func (r *remoteGuidance) Info() Info { return r.info }

func (r *remoteGuidance) Begin(ctx context.Context, p Problem, params Params) (Guider, error) {
	resp, err := r.c.Begin(ctx, &pb.BeginRequest{Y: r.w.encode(p.Y), Operator: operatorToPB(p.Operator),
		SigmaY: p.SigmaY, Params: params.Map(), Seed: p.Seed})
	if err != nil {
		return nil, fromStatus(ctx, err)
	}
	return &remoteGuider{c: r.c, session: resp.GetSession(), w: r.w}, nil
}

type remoteGuider struct {
	c       pb.GuidanceClient
	session uint64
	w       wire
}

func (r *remoteGuider) Guide(ctx context.Context, s GuideStep) (*Tensor, error) {
	resp, err := r.c.Guide(ctx, &pb.GuideRequest{Session: r.session, X0: r.w.encode(s.X0), Xt: r.w.encode(s.Xt),
		Sigma: s.Sigma, Step: int32(s.Step)})
	recycle(s.X0) // on the wire, and given to the guider (GuideStep.X0): the reply may take its memory
	if err != nil {
		return nil, fromStatus(ctx, err)
	}
	return r.w.decode(resp)
}

func (r *remoteGuider) End() error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := r.c.End(ctx, &pb.EndRequest{Session: r.session})
	return fromStatus(ctx, err)
}
