package layering

import (
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
)

const module = "strait/"

// allowed names, for each layer, the layers its non-test code may import. A
// layer is a package path below internal/ or cmd/, matched by its first
// element (internal/control/elb is the layer control). The data flows API →
// operations → store → reconcile → agent → dataplane; model is everyone's
// vocabulary; server and the binary wire everything together.
var allowed = map[string][]string{
	"model":     {},
	"store":     {"model"},
	"control":   {"control", "store", "model"},
	"sigv4":     {"model"},
	"fdbudget":  {},
	"admission": {"fdbudget"},
	"awsapi":    {"control", "sigv4", "admission", "model"},
	"nativeapi": {"control", "hosts", "sigv4", "admission", "model"},
	// The host registry is operations over the store; the agent API serves it
	// to agents and is their client.
	"hosts":     {"store", "model"},
	"agentapi":  {"hosts", "placement", "agent", "dataplane", "model"},
	"console":   {"control", "sigv4", "model"},
	"reconcile": {"reconcile", "control", "placement", "agent", "dataplane", "store", "model"},
	"placement": {"placement", "agent", "dataplane", "model"},
	// The fleet applies through the local agent and publishes the remote
	// hosts' parts (placement).
	"fleet": {"placement", "agent", "dataplane", "model"},
	// A host's agent process: its data plane, served from the agent API.
	"hostagent": {"agentapi", "placement", "agent", "relay", "dataplane", "model"},
	// The relay in this process or in its own (agent.Relay).
	"relay":     {"agent", "dataplane", "dns", "fdbudget", "model"},
	"agent":     {"agent", "dataplane", "model"},
	"dataplane": {"dataplane", "model"},
	"dns":       {"model"},
	"layering":  {},
	// One leader among the server replicas, fencing its writes in the store.
	"leader": {"store", "model"},
	// Wiring and test support may import any layer.
	"server":  nil,
	"testenv": nil,
	"cmd":     nil,
}

// layerOf names the layer of an import path of this module ("" outside it).
func layerOf(path string) string {
	rest, ok := strings.CutPrefix(path, module)
	if !ok {
		return ""
	}
	parts := strings.Split(rest, "/")
	if strings.HasSuffix(parts[len(parts)-1], "test") {
		return "testenv" // test support (testenv, netnstest): imported by tests only
	}
	if parts[0] == "cmd" || len(parts) < 2 {
		return parts[0]
	}
	return parts[1]
}

// Every internal import of non-test code stays inside what allowed says, and
// every package belongs to a known layer.
func TestImportsFollowTheFlow(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	bad := map[string]bool{}
	seen := 0
	for _, top := range []string{"internal", "cmd"} {
		err := filepath.WalkDir(filepath.Join(root, top), func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() && (d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".")) {
				return filepath.SkipDir
			}
			if d.IsDir() || !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
				return nil
			}
			rel, _ := filepath.Rel(root, filepath.Dir(p))
			from := layerOf(module + filepath.ToSlash(rel))
			rules, known := allowed[from]
			if !known {
				bad[rel+": package in no layer (add it to allowed)"] = true
				return nil
			}
			f, err := parser.ParseFile(token.NewFileSet(), p, nil, parser.ImportsOnly)
			if err != nil {
				return err
			}
			seen++
			if rules == nil {
				return nil
			}
			for _, imp := range f.Imports {
				path, _ := strconv.Unquote(imp.Path.Value)
				to := layerOf(path)
				if to == "" {
					continue
				}
				ok := false
				for _, r := range rules {
					ok = ok || r == to
				}
				if !ok {
					bad[rel+" imports "+path] = true
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if seen < 50 {
		t.Fatalf("read only %d files: is the walk looking at the module?", seen)
	}
	var lines []string
	for l := range bad {
		lines = append(lines, l)
	}
	sort.Strings(lines)
	for _, l := range lines {
		t.Error(l)
	}
}
