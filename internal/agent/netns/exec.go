package netns

import (
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"syscall"
)

// Exec runs argv inside the namespace of an instance of any Strait server on this
// host, like `ip netns exec` (which also mounts the instance's resolv.conf and
// hosts over /etc's), passing stdin, stdout and stderr through. It returns the
// program's exit code (128 + the signal number when a signal ended it); the error
// is only for failing to find the instance or to start `ip`.
func Exec(instanceID string, argv []string, stdin io.Reader, stdout, stderr io.Writer) (int, error) {
	if len(argv) == 0 {
		return 0, errors.New("no command to run")
	}
	name, err := InstanceNamespace(instanceID)
	if err != nil {
		return 0, err
	}
	cmd := exec.Command("ip", append([]string{"netns", "exec", name}, argv...)...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = stdin, stdout, stderr
	err = cmd.Run()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		if ws, ok := exit.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return 128 + int(ws.Signal()), nil
		}
		return exit.ExitCode(), nil
	}
	if err != nil {
		return 0, fmt.Errorf("running ip netns exec: %w", err)
	}
	return 0, nil
}

// InstanceNamespace finds the namespace "strait-<tag>-<instanceID>" of any tag.
func InstanceNamespace(instanceID string) (string, error) {
	notFound := fmt.Errorf("instance %s has no namespace on this host (is it running? is this the host of its server?)", instanceID)
	if !strings.HasPrefix(instanceID, "i-") || strings.ContainsAny(instanceID, "/ ") {
		return "", notFound
	}
	names, err := listNamespaces("strait-")
	if err != nil {
		return "", err
	}
	var found []string
	for _, name := range names {
		tag, id, ok := strings.Cut(strings.TrimPrefix(name, "strait-"), "-")
		if ok && id == instanceID && validTag(tag) && nsExists(name) {
			found = append(found, name)
		}
	}
	switch len(found) {
	case 0:
		return "", notFound
	case 1:
		return found[0], nil
	}
	return "", fmt.Errorf("instance %s has namespaces of several servers: %s", instanceID, strings.Join(found, ", "))
}

// InInstance runs fn on an OS thread inside an instance's namespace (any tag) and
// returns the thread to the host namespace; sockets fn creates stay in the instance.
func InInstance(instanceID string, fn func() error) error {
	name, err := InstanceNamespace(instanceID)
	if err != nil {
		return err
	}
	return inNamespace(name, fn)
}
