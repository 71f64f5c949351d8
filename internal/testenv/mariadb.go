package testenv

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// MariaDB is a MariaDB server (Debian's mariadb-server) running inside an instance,
// with its data directory and socket on the host.
type MariaDB struct {
	t      testing.TB
	Dir    string
	Socket string
}

// StartMariaDB initializes a fresh data directory and runs mariadbd inside the
// instance on port 3306 (all addresses), as root, until the test ends.
func StartMariaDB(t testing.TB, instanceID string) *MariaDB {
	t.Helper()
	for _, bin := range []string{"mariadb-install-db", "mariadbd", "mariadb"} {
		if _, err := exec.LookPath(bin); err != nil && !fileExists("/usr/sbin/"+bin) {
			SkipUnlessE2E(t, "MariaDB is not installed (apt-get install mariadb-server mariadb-client)")
		}
	}
	// A short directory: the socket path must fit in 108 bytes.
	dir, err := os.MkdirTemp("", "strait-mariadb-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	m := &MariaDB{t: t, Dir: dir, Socket: filepath.Join(dir, "mysqld.sock")}
	data := filepath.Join(dir, "data")
	install := exec.Command(sbin("mariadb-install-db"), "--no-defaults", "--datadir="+data, "--user=root",
		"--auth-root-authentication-method=socket", "--skip-test-db")
	if out, err := install.CombinedOutput(); err != nil {
		t.Fatalf("mariadb-install-db: %v\n%s", err, out)
	}
	Background(t, instanceID, sbin("mariadbd"), "--no-defaults", "--datadir="+data, "--socket="+m.Socket,
		"--port=3306", "--bind-address=0.0.0.0", "--user=root", "--pid-file="+filepath.Join(dir, "mysqld.pid"),
		"--log-error="+filepath.Join(dir, "error.log"), "--skip-name-resolve", "--innodb-buffer-pool-size=16M",
		"--skip-log-bin")
	Eventually(t, 60*time.Second, "mariadbd starting", func() error {
		_, err := m.query("SELECT 1")
		return err
	})
	return m
}

// Query runs SQL as root over the server's socket and returns the tab-separated
// rows, without headers.
func (m *MariaDB) Query(sql string) string {
	m.t.Helper()
	out, err := m.query(sql)
	if err != nil {
		log, _ := os.ReadFile(filepath.Join(m.Dir, "error.log"))
		m.t.Fatalf("mariadb %q: %v\nerror log:\n%s", sql, err, log)
	}
	return out
}

func (m *MariaDB) query(sql string) (string, error) {
	out, err := exec.Command("mariadb", "--no-defaults", "-S", m.Socket, "-uroot", "-N", "-B", "-e", sql).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("%v: %s", err, out)
	}
	return strings.TrimSpace(string(out)), nil
}

// sbin finds a MariaDB program in PATH or /usr/sbin (not in root's PATH everywhere).
func sbin(name string) string {
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	return "/usr/sbin/" + name
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
