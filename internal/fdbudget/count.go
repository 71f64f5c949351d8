package fdbudget

import (
	"encoding/binary"
	"os"

	"golang.org/x/sys/unix"
)

// countOpen counts the process's open descriptors: the entries of
// /proc/self/fd, read with getdents64 into one buffer and counted without
// allocating names (20,000 entries are about 0.5 MB of records). The
// descriptor used for reading is not counted.
func countOpen() (int, error) {
	fd, err := unix.Open("/proc/self/fd", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return 0, os.NewSyscallError("open /proc/self/fd", err)
	}
	defer unix.Close(fd)
	var buf [32 << 10]byte
	n := 0
	for {
		got, err := unix.Getdents(fd, buf[:])
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return 0, os.NewSyscallError("getdents64 /proc/self/fd", err)
		}
		if got == 0 {
			break
		}
		n += countEntries(buf[:got])
	}
	return n - 1, nil // less the descriptor reading the directory
}

// countEntries counts the linux_dirent64 records of b that are descriptors
// (not "." or ".."). A record is d_ino (8 bytes), d_off (8), d_reclen (2),
// d_type (1) and the NUL-terminated name.
func countEntries(b []byte) int {
	n := 0
	for len(b) >= 19 {
		reclen := int(binary.NativeEndian.Uint16(b[16:18]))
		if reclen < 19 || reclen > len(b) {
			break
		}
		if name := b[19:reclen]; !(name[0] == '.' && (name[1] == 0 || name[1] == '.' && name[2] == 0)) {
			n++
		}
		b = b[reclen:]
	}
	return n
}
