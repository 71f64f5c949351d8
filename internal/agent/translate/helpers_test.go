package translate_test

import (
	osexec "os/exec"
	"syscall"
)

const syscallECONNRESET = syscall.ECONNRESET

func runQuiet(name string, args ...string) error { return osexec.Command(name, args...).Run() }
