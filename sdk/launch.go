package sdk

import (
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
)

// LaunchOptions configures Launch.
type LaunchOptions struct {
	// Logger receives the plugin's own log and its stderr, line by line.
	// Nil discards them.
	Logger hclog.Logger
	// Stderr receives what the plugin writes to its standard error, line
	// by line (nil discards it).
	Stderr io.Writer
	// Env is the plugin's environment. With CleanEnv unset the host's
	// environment is added to it.
	Env []string
	// CleanEnv starts the plugin with Env only (and go-plugin's own
	// variables), none of the host's environment.
	CleanEnv bool
	// Checksum, if set, is the SHA-256 the executable must have: go-plugin
	// checks it (SecureConfig) before starting the process.
	Checksum []byte
}

// Client is a running plugin process.
type Client struct {
	c      *plugin.Client
	pid    int    // the plugin's process, leader of its own process group
	dir    string // the folder large tensors cross in (see wire.go); removed by Kill
	sl     *slots // the host's side of the slots in dir
	plugin Plugin
}

// Launch starts the plugin executable at path over go-plugin (gRPC only,
// AutoMTLS on, message limits raised) and returns it ready to use. Call Kill
// when done.
func Launch(path string, opts LaunchOptions) (*Client, error) {
	logger := opts.Logger
	if logger == nil {
		logger = hclog.New(&hclog.LoggerOptions{Output: io.Discard, Level: hclog.Off})
	}
	cmd := exec.Command(path)
	cmd.Env = slices.Clone(opts.Env)
	ownGroup(cmd)
	cl := &Client{}
	if dir, err := newWireDir(); err == nil { // without one, tensors go inline
		cl.dir = dir
		cmd.Env = append(cmd.Env, wireDirEnv+"="+dir)
	}
	var secure *plugin.SecureConfig
	if opts.Checksum != nil {
		secure = &plugin.SecureConfig{Checksum: opts.Checksum, Hash: sha256.New()}
	}
	c := plugin.NewClient(&plugin.ClientConfig{
		SecureConfig:     secure,
		SkipHostEnv:      opts.CleanEnv,
		HandshakeConfig:  Handshake,
		VersionedPlugins: PluginSets(nil),
		Cmd:              cmd,
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		AutoMTLS:         true,
		GRPCDialOptions:  DialOptions(),
		Logger:           logger,
		SyncStderr:       opts.Stderr,
	})
	cl.c = c
	rpc, err := c.Client()
	if cmd.Process != nil {
		cl.pid = cmd.Process.Pid
	}
	if err != nil {
		cl.Kill()
		return nil, fmt.Errorf("plugin %s: start: %w", path, err)
	}
	if cl.plugin, err = Dispense(rpc); err != nil {
		cl.Kill()
		return nil, fmt.Errorf("plugin %s: %w", path, err)
	}
	if cl.dir != "" {
		cl.sl = newSlots(cl.dir)
	}
	switch p := cl.plugin.(type) {
	case *remoteSolver:
		p.w.dir, p.w.sl = cl.dir, cl.sl
	case *remoteGuidance:
		p.w.dir, p.w.sl = cl.dir, cl.sl
	}
	return cl, nil
}

// Plugin returns the plugin, a Solver or a Guidance.
func (c *Client) Plugin() Plugin { return c.plugin }

// Exited reports whether the plugin process has exited.
func (c *Client) Exited() bool { return c.c.Exited() }

// Kill stops the plugin process (gracefully first, then by force) and any
// process it started.
func (c *Client) Kill() {
	c.c.Kill()
	killGroup(c.pid)
	c.sl.close()
	if c.dir != "" {
		os.RemoveAll(c.dir)
	}
}
