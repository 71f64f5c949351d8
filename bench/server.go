package main

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"strait/internal/agent/netns"
)

// straitServer is `strait server --dev` with the netns data plane, run as a child.
type straitServer struct {
	bin     string // the strait binary
	dataDir string
	listen  string // host:port of the API
	url     string
	tag     string // the namespace tag of its data directory
	proc    *proc
	log     *os.File
	prefix  []string // runs it in a namespace (nsenter --net …); figure 8's
	extra   []string // more flags (figure 8's --agent-listen)
}

// startServer starts the server on a free loopback port and waits for /healthz.
func startServer(ctx context.Context, bin, dataDir, logPath string) (*straitServer, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	return startServerIn(ctx, bin, dataDir, logf, nil, fmt.Sprintf("127.0.0.1:%d", port))
}

// startServerIn starts the server with the command line prefix (nsenter into a
// machine of figure 8, or none), its API on listen and the extra flags, and
// waits for /healthz; logf receives its log.
func startServerIn(ctx context.Context, bin, dataDir string, logf *os.File, prefix []string, listen string, extra ...string) (*straitServer, error) {
	s := &straitServer{bin: bin, dataDir: dataDir, listen: listen, tag: netns.TagFor(dataDir), log: logf, prefix: prefix, extra: extra}
	s.url = "http://" + s.listen
	return s, s.start(ctx)
}

// start runs the server process and waits until /healthz answers 200.
func (s *straitServer) start(ctx context.Context) error {
	if err := s.launch(); err != nil {
		return err
	}
	return s.waitHealthy(ctx)
}

// launch runs the server process without waiting for it (replicas of a new
// etcd cluster answer only once a quorum of them runs).
func (s *straitServer) launch() error {
	var err error
	argv := append(append(slices.Clone(s.prefix), s.bin, "server", "--dev", "--data-dir", s.dataDir, "--listen", s.listen), s.extra...)
	s.proc, err = startProc("strait server", argv, s.log) // nsenter execs the server: one process
	if err != nil {
		return err
	}
	go func() {
		for range s.proc.lines { // drain stdout; logs go to stderr
		}
	}()
	return nil
}

// waitHealthy waits until the launched server's /healthz answers 200 (60 s
// at most).
func (s *straitServer) waitHealthy(ctx context.Context) error {
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(s.url + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return nil
			}
		}
		select {
		case <-s.proc.done:
			return fmt.Errorf("strait server exited (%v); see %s", s.proc.err, s.log.Name())
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(10 * time.Millisecond): // figure 9 times the restart by it
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("strait server not healthy after 60 s; see %s", s.log.Name())
		}
	}
}

// restart stops the server (SIGTERM) and starts it again on the same data
// directory and port: it re-adopts its namespaces and reopens its listeners.
func (s *straitServer) restart(ctx context.Context) error {
	s.proc.stop(30 * time.Second)
	return s.start(ctx)
}

// pid is the server process's ID (the binary runs directly, not through a shell).
func (s *straitServer) pid() int { return s.proc.cmd.Process.Pid }

// relayPID is the ID of the data directory's relay process (`strait relay
// --data-dir DIR`, started by the server in a session of its own; it carries
// the relayed connections and outlives the server), 0 if none runs. It is found
// by its command line, so a relay the server replaced is found too.
func (s *straitServer) relayPID() int {
	dir, err := filepath.Abs(s.dataDir)
	if err != nil {
		return 0
	}
	cmdlines, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range cmdlines {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		args := strings.Split(strings.TrimRight(string(b), "\x00"), "\x00")
		if len(args) < 4 || args[1] != "relay" || filepath.Base(args[0]) != filepath.Base(s.bin) {
			continue
		}
		for i := 2; i+1 < len(args); i++ {
			if args[i] == "--data-dir" && args[i+1] == dir {
				pid, _ := strconv.Atoi(filepath.Base(filepath.Dir(p)))
				return pid
			}
		}
	}
	return 0
}

// namespace is the name of the namespace of a VPC or instance of this server.
func (s *straitServer) namespace(id string) string { return "strait-" + s.tag + "-" + id }

// namespaces lists this server's namespaces that exist.
func (s *straitServer) namespaces() []string {
	names, _ := filepath.Glob("/var/run/netns/strait-" + s.tag + "-*")
	for i, n := range names {
		names[i] = filepath.Base(n)
	}
	return names
}

// shutdown stops the server (SIGTERM), runs `strait down` for its data directory and
// reports namespaces left behind.
func (s *straitServer) shutdown() error {
	var errs []string
	if s.proc != nil {
		s.proc.stop(30 * time.Second)
	}
	down := append(slices.Clone(s.prefix), s.bin, "down", "--data-dir", s.dataDir)
	out, err := exec.Command(down[0], down[1:]...).CombinedOutput()
	if err != nil {
		errs = append(errs, fmt.Sprintf("strait down: %v: %s", err, out))
	}
	if left := s.namespaces(); len(left) > 0 {
		errs = append(errs, fmt.Sprintf("namespaces left behind: %v", left))
	}
	s.log.Close()
	if len(errs) > 0 {
		return fmt.Errorf("%s", strings.Join(errs, "; "))
	}
	return nil
}

// freePort returns a TCP port free on 127.0.0.1 right now.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// procStatusKiB reads a "Key: N kB" line of /proc/PID/status.
func procStatusKiB(pid int, key string) (float64, error) {
	return kibField(fmt.Sprintf("/proc/%d/status", pid), key)
}

// meminfoKiB reads a "Key: N kB" line of /proc/meminfo.
func meminfoKiB(key string) (float64, error) { return kibField("/proc/meminfo", key) }

// kibField reads a "Key: N kB" line of a /proc file.
func kibField(path, key string) (float64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), key+":"); ok {
			return strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
		}
	}
	return 0, fmt.Errorf("%s: no %s line", path, key)
}

// userHZ is the unit of the CPU times in /proc/PID/stat (USER_HZ, which Linux
// fixes at 100 on the architectures it exports to user space this way).
const userHZ = 100

// processCPU is the CPU time (user + system) a process and its threads have
// used so far, from /proc/PID/stat; 0 for pid 0.
func processCPU(pid int) (time.Duration, error) {
	if pid == 0 {
		return 0, nil
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name (field 2) may hold spaces: count fields after its ")".
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return 0, fmt.Errorf("/proc/%d/stat: no command name", pid)
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: %d fields", pid, len(f)+2)
	}
	var ticks int64
	for _, s := range f[11:13] { // fields 14 (utime) and 15 (stime)
		v, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("/proc/%d/stat: %w", pid, err)
		}
		ticks += v
	}
	return time.Duration(ticks) * time.Second / userHZ, nil
}

// processesCPU is the sum of processCPU over pids.
func processesCPU(pids []int) (time.Duration, error) {
	var sum time.Duration
	for _, pid := range pids {
		t, err := processCPU(pid)
		if err != nil {
			return 0, err
		}
		sum += t
	}
	return sum, nil
}

// fdCount counts the open descriptors of a process.
func fdCount(pid int) (int, error) {
	ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	return len(ents), err
}
