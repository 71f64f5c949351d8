package server_test

import (
	"os"
	"os/exec"
	"strings"
	"testing"

	"strait/internal/testenv"
)

// TestReadmeWalkthrough runs the AWS CLI example of the README, as written, against a
// server: the README must stay true.
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
	env := testenv.Start(t)
	bin := t.TempDir()
	if err := os.Symlink(aws, bin+"/aws"); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("bash", "-euo", "pipefail", "-c", script)
	cmd.Env = append(testenv.CleanEnv(), "PATH="+bin+":"+os.Getenv("PATH"), "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null")
	script = strings.ReplaceAll(script, "http://127.0.0.1:8787", env.Server.URL())
	cmd.Args[len(cmd.Args)-1] = script
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("README walkthrough failed: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "available") {
		t.Errorf("the walkthrough's last command shows no available endpoint:\n%s", out)
	}
}
