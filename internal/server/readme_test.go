package server_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"strait/internal/server"
	"strait/internal/testenv"
)

// TestReadmeWalkthrough runs the README's walkthrough, as written, against a server
// with the netns data plane: the strait binary built from this tree, the real AWS
// CLI, MariaDB in a provider instance and mysql in a consumer instance. The README
// must stay true.
func TestReadmeWalkthrough(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(raw), "```bash\n")
	script, _, ok2 := strings.Cut(rest, "```")
	if !ok || !ok2 {
		t.Fatal("README has no ```bash block")
	}
	aws, err := testenv.AWSPath()
	if err != nil {
		testenv.SkipUnlessE2E(t, "the AWS CLI (aws) is not installed")
	}
	// Created first, removed last: after the server's cleanup has stopped MariaDB.
	tmp := t.TempDir()
	env := testenv.StartNetns(t, server.Config{})
	bin := t.TempDir()
	if err := os.Symlink(aws, filepath.Join(bin, "aws")); err != nil {
		t.Fatal(err)
	}
	build := exec.Command("go", "build", "-o", filepath.Join(bin, "strait"), "../../cmd/strait")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building strait: %v\n%s", err, out)
	}
	script = strings.ReplaceAll(script, "http://127.0.0.1:8787", env.Server.URL())
	cmd := exec.Command("bash", "-euo", "pipefail", "-c", script)
	cmd.Env = append(testenv.CleanEnv(), "PATH="+bin+":"+os.Getenv("PATH")+":/usr/sbin:/sbin",
		"AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null", "TMPDIR="+tmp)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("README walkthrough failed: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "connected through vpce-") {
		t.Errorf("the walkthrough's mysql query did not answer through the endpoint:\n%s", out)
	}
}
