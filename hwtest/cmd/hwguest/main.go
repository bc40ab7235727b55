// Command hwguest is the test driver that runs inside the hwtest VM as the
// last step of /init. It is not part of kioskd.
//
// It makes a gpio-sim chip with the kiosk's line names, plays the camera by
// writing QR frames into v4l2loopback, runs the real kioskd binary against
// both, and asserts on what the kernel saw on the GPIO lines (sampled from
// gpio-sim's sysfs at a fast interval), never on kioskd's logs. Each scenario
// prints one report line; the last line is "HWTEST-EXIT n", which the host
// script parses, and on x86-64 the same n leaves QEMU through isa-debug-exit.
//
// Run as /bin/hwguest -exit N only to power the VM off with status N.
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

func main() {
	exitWith := flag.Int("exit", -1, "only power the VM off with this status")
	only := flag.String("only", "", "comma-separated scenario names to run (default all)")
	flag.Parse()
	if *exitWith >= 0 {
		vmExit(*exitWith)
		return
	}
	if *only == "" {
		*only = cmdlineParam("hwtest.only")
	}
	code := run(*only)
	fmt.Printf("HWTEST-EXIT %d\n", code)
	vmExit(code)
}

// report prints a scenario's outcome in the format the host script shows.
func report(name string, err error, took time.Duration, detail string) bool {
	status := "PASS"
	if err != nil {
		status, detail = "FAIL", err.Error()
	}
	fmt.Printf("HWTEST %s %-4s %-28s %7.2fs  %s\n", runtime.GOARCH, status, name, took.Seconds(), detail)
	return err == nil
}

func cmdlineParam(key string) string {
	b, _ := os.ReadFile("/proc/cmdline")
	for _, f := range strings.Fields(string(b)) {
		if v, ok := strings.CutPrefix(f, key+"="); ok {
			return v
		}
	}
	return ""
}

// vmExit leaves the VM with status code. On x86-64 the isa-debug-exit device
// makes QEMU exit with (code<<1)|1; elsewhere the console marker already
// printed carries the status and a power-off ends QEMU (-no-reboot).
func vmExit(code int) {
	// The console is a UART: wait until the report has left it, or QEMU
	// exits with the last lines still in the tty buffer. TCSBRK with a
	// non-zero argument is tcdrain(3).
	unix.IoctlSetInt(int(os.Stdout.Fd()), unix.TCSBRK, 1)
	time.Sleep(100 * time.Millisecond)
	syscall.Sync()
	if runtime.GOARCH == "amd64" {
		if f, err := os.OpenFile("/dev/port", os.O_WRONLY, 0); err == nil {
			f.WriteAt([]byte{byte(code)}, 0xf4)
			f.Close()
		}
	}
	syscall.Reboot(syscall.LINUX_REBOOT_CMD_POWER_OFF)
	os.Exit(code)
}
