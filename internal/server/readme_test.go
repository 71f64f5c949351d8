package server_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"strait/internal/server"
	"strait/internal/testenv"
)

// readme is README.md, read once per test.
func readme(t *testing.T) string {
	t.Helper()
	raw, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	return string(raw)
}

// section is the README's text from the heading that starts with heading to the
// next "## " heading.
func section(t *testing.T, heading string) string {
	t.Helper()
	text := readme(t)
	i := strings.Index(text, "\n"+heading)
	if i < 0 {
		t.Fatalf("README has no section %q", heading)
	}
	rest := text[i+1:]
	if j := strings.Index(rest[len(heading):], "\n## "); j >= 0 {
		rest = rest[:len(heading)+j+1]
	}
	return rest
}

// bashBlock is the first ```bash block of a README section.
func bashBlock(t *testing.T, heading string) string {
	t.Helper()
	_, rest, ok := strings.Cut(section(t, heading), "```bash\n")
	block, _, ok2 := strings.Cut(rest, "```")
	if !ok || !ok2 {
		t.Fatalf("README section %q has no ```bash block", heading)
	}
	return block
}

// commands are the indented command lines of a README section, in order.
func commands(t *testing.T, heading string) []string {
	t.Helper()
	var out []string
	for _, line := range strings.Split(section(t, heading), "\n") {
		if cmd, ok := strings.CutPrefix(line, "    "); ok && strings.TrimSpace(cmd) != "" {
			out = append(out, cmd)
		}
	}
	return out
}

// TestReadmeWalkthrough runs the README's walkthrough, as written, against a server
// with the netns data plane: the strait binary built from this tree, the real AWS
// CLI, MariaDB in a provider instance and mysql in a consumer instance. The README
// must stay true.
func TestReadmeWalkthrough(t *testing.T) {
	t.Parallel()
	script := bashBlock(t, "## Walkthrough")
	aws, err := testenv.AWSPath()
	if err != nil {
		testenv.SkipUnlessE2E(t, "the AWS CLI (aws) is not installed")
	}
	// Created first, removed last: after the server's cleanup has stopped MariaDB.
	tmp := t.TempDir()
	env := testenv.StartNetns(t, server.Config{})
	testenv.RegisterDataplane(t, "", tmp)
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

// TestReadmeWaitsAreBounded: every wait in the README's shell sessions goes through
// wait_until, which gives up after its bound and says what it waited for.
func TestReadmeWaitsAreBounded(t *testing.T) {
	walk := bashBlock(t, "## Walkthrough")
	def := regexp.MustCompile(`(?s)wait_until\(\) \{\n.*?\n\}\n`).FindString(walk)
	if def == "" {
		t.Fatal("the walkthrough defines no wait_until")
	}
	loop := regexp.MustCompile(`(?m)^\s*(until|while)\b|;\s*(until|while)\b`)
	for _, heading := range []string{"## Walkthrough", "## Publishing a service"} {
		if m := loop.FindString(strings.Replace(bashBlock(t, heading), def, "", 1)); m != "" {
			t.Errorf("README section %s has a loop outside wait_until: %q", heading, m)
		}
	}
	cmd := exec.Command("bash", "-c", def+`wait_until 1 "the impossible" false; echo "status $?"`)
	out, err := cmd.CombinedOutput()
	if err != nil || string(out) != "gave up waiting for the impossible after 1 s\nstatus 1\n" {
		t.Errorf("wait_until on a command that never succeeds: %v %q", err, out)
	}
	cmd = exec.Command("bash", "-c", def+`n=0; more() { n=$((n+1)); [ $n -ge 3 ]; }; wait_until 60 "three tries" more; echo "status $? after $n"`)
	if out, err := cmd.CombinedOutput(); err != nil || string(out) != "status 0 after 3\n" {
		t.Errorf("wait_until on a command that succeeds the third time: %v %q", err, out)
	}
}

// TestReadmeQuickStart runs the README's Quick start on a machine as a new user
// has it: Go and the AWS CLI, but no iproute2 and no nftables. That machine is an
// overlay of this one (a tmpfs over /) in private mount, PID and network
// namespaces, where those two packages are removed with apt-get (iproute2's .debs
// are fetched first, while the namespace still has the host's network; the Quick
// start then installs it offline, and the data plane runs without nft). In it, the
// Quick start's first command runs literally: it builds and installs strait and
// iproute2 and starts the server
// on 127.0.0.1:8787 (the namespace's own loopback). Once /healthz answers, the
// README's provider session runs as written, the server is stopped as with Ctrl-C,
// and the README's `strait down` must leave no namespace. Everything lives in the
// namespaces: if the test is killed, the kernel removes it all.
func TestReadmeQuickStart(t *testing.T) {
	t.Parallel()
	testenv.RequireRoot(t)
	aws, err := testenv.AWSPath()
	if err != nil {
		testenv.SkipUnlessE2E(t, "the AWS CLI (aws) is not installed")
	}
	for _, prog := range []string{"unshare", "chroot", "apt-get"} {
		if _, err := exec.LookPath(prog); err != nil {
			testenv.SkipUnlessE2E(t, prog+" is not installed")
		}
	}
	quick := commands(t, "## Quick start")
	if len(quick) < 2 || !strings.Contains(quick[0], "strait server") || !strings.HasPrefix(quick[1], "go test ") {
		t.Fatalf("the Quick start's commands are not build-and-serve, then the tests: %q", quick)
	}
	down := ""
	for _, c := range commands(t, "## Walkthrough") {
		if strings.HasPrefix(c, "strait down") {
			down = c
		}
	}
	if down == "" {
		t.Fatal("the README says nowhere how to run strait down")
	}
	repo, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	goenv, err := exec.Command("go", "env", "GOMODCACHE", "GOCACHE").Output()
	if err != nil {
		t.Fatal(err)
	}
	modcache, gocache, _ := strings.Cut(strings.TrimSpace(string(goenv)), "\n")

	dir := t.TempDir()
	testenv.RegisterDataplane(t, "", dir) // only an empty mount point stays if the test is killed
	driver := strings.NewReplacer("@REPO@", repo, "@QUICKSTART@", quick[0], "@PROVIDER@", bashBlock(t, "## Publishing a service"),
		"@DOWN@", down).Replace(quickStartDriver)
	if err := os.WriteFile(filepath.Join(dir, "driver.sh"), []byte(driver), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "unshare", "--mount", "--pid", "--kill-child", "--propagation", "private",
		"bash", "-euo", "pipefail", "-c", quickStartMachine)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH") + ":/usr/sbin:/sbin", "DIR=" + dir, "REPO=" + repo, "AWS=" + aws, "GOMODCACHE=" + modcache, "GOCACHE=" + gocache}
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("the README's Quick start and provider session failed: %v\n%s", err, out.String())
	}
	for _, want := range []string{
		"scripts/install: installing iproute2 with apt-get",
		"nft is absent", // the data plane runs without it
		"scripts/install: installed /usr/local/bin/strait",
		"== strait is /usr/local/bin/strait",
		"arn:aws:iam::333333333333:root", // the principals replaced
		"my-kafka: PrivateLink resource deleted",
		"deleted my-kafka",
		"removed strait-", // strait down
		"== the server stopped with status 0",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("no %q in the output:\n%s", want, out.String())
		}
	}
	if t.Failed() || testing.Verbose() {
		t.Logf("output:\n%s", out.String())
	}
}

// quickStartMachine makes the fresh machine (run by unshare as PID 1 of new mount
// and PID namespaces) and runs the driver in it, in a network namespace of its own.
const quickStartMachine = `
m=$DIR/machine
mkdir "$m"
mount -t tmpfs tmpfs "$m"
mkdir "$m/upper" "$m/work" "$m/root"
mount -t overlay overlay -o "lowerdir=/,upperdir=$m/upper,workdir=$m/work" "$m/root"
root=$m/root
mount -t proc proc "$root/proc"
mount --rbind /dev "$root/dev"
mount --rbind /sys "$root/sys"
mount -t tmpfs tmpfs "$root/run"
mount -t tmpfs tmpfs "$root/tmp"
# The checkout and the AWS CLI may live under /tmp or /run, which the machine gets
# empty: show them at the same place.
for p in "$REPO" "$(dirname "$(readlink -f "$AWS")")"; do
  case "$p" in /tmp/*|/run/*) mkdir -p "$root$p"; mount --bind "$p" "$root$p" ;; esac
done
cp "$DIR/driver.sh" "$root/tmp/driver.sh"
mkdir -p "$root/opt/aws-cli"
ln -s "$AWS" "$root/opt/aws-cli/aws"
# Root's environment on that machine: Go and the AWS CLI on PATH, nothing else.
env=(HOME=/root LANG=C.UTF-8 TERM=dumb
  PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:/usr/local/go/bin:/opt/aws-cli
  GOMODCACHE="$GOMODCACHE" GOCACHE="$GOCACHE" GOTOOLCHAIN=local
  AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null AWS_PAGER=)
machine() { chroot "$root" /usr/bin/env -i "${env[@]}" "$@"; }
echo "== the machine: no iproute2, no nftables"
machine bash -c 'export DEBIAN_FRONTEND=noninteractive
  apt-get remove -y -qq iproute2 nftables >/dev/null 2>&1
  apt-get install --download-only -y -qq --no-install-recommends iproute2 >/dev/null 2>&1 ||
    { apt-get update -qq && apt-get install --download-only -y -qq --no-install-recommends iproute2 >/dev/null; }
  if command -v ip || command -v nft; then echo "ip or nft is still there"; exit 1; fi'
echo "== the README, in a network namespace of its own"
unshare --net bash -c 'ip link set lo up && exec "$@"' - chroot "$root" /usr/bin/env -i "${env[@]}" bash /tmp/driver.sh
`

// quickStartDriver runs in the fresh machine: the Quick start's first command as
// a job of its own (so that it can be stopped as Ctrl-C would), the provider
// session once the server is ready, then the README's strait down.
const quickStartDriver = `set -euo pipefail
cd @REPO@
set -m
{
@QUICKSTART@
} >/tmp/quickstart.log 2>&1 &
job=$!
healthy() { (exec 3<>/dev/tcp/127.0.0.1/8787 && printf 'GET /healthz HTTP/1.0\r\n\r\n' >&3 && head -n1 <&3 | grep -q ' 200 ') 2>/dev/null; }
end=$((SECONDS + 900))
until healthy; do
  if ! kill -0 $job 2>/dev/null; then echo "the Quick start command ended:"; cat /tmp/quickstart.log; exit 1; fi
  if [ $SECONDS -ge $end ]; then echo "no /healthz 200 in 15 minutes:"; cat /tmp/quickstart.log; exit 1; fi
  sleep 0.2
done
echo "== the Quick start command, until ready:"; cat /tmp/quickstart.log
echo "== strait is $(command -v strait), ip is $(command -v ip), nft is $(command -v nft || echo absent)"
echo "== the provider session"
bash -euo pipefail -c "$(cat <<'PROVIDER'
@PROVIDER@
PROVIDER
)"
echo "== Ctrl-C"
kill -INT -- -$job
status=0
wait $job || status=$?
echo "== the server stopped with status $status"
[ $status -eq 0 ] || { cat /tmp/quickstart.log; exit 1; }
echo "== @DOWN@"
@DOWN@
left=$(ip netns list)
[ -z "$left" ] || { echo "namespaces left: $left"; exit 1; }
`
