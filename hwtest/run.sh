#!/usr/bin/env bash
# hwtest/run.sh: hardware-in-the-loop test of kioskd on real kernel V4L2 and
# GPIO drivers, inside QEMU (software emulation, no KVM needed).
#
# What it does, all cached under hwtest/.cache keyed by kernel ABI:
#   1. installs the host packages it needs (apt), resolves the current Debian
#      kernel ABI per architecture (it drifts, so never hard-coded);
#   2. downloads that kernel, its headers and linux-source with `apt-get
#      download` and unpacks them with `dpkg -x` (GPL sources are fetched at
#      build time, never committed);
#   3. builds v4l2loopback (from v4l2loopback-dkms) and gpio-sim + irq_sim
#      (from linux-source; Debian does not enable CONFIG_GPIO_SIM) out of tree,
#      cross-compiling for arm64 (and armhf);
#   4. builds the static guest driver (hwtest/cmd/hwguest) and kioskd, packs a
#      busybox initramfs and boots it; the guest runs the scenarios and reports
#      through isa-debug-exit (x86-64) and a console marker line (all arches).
#
# Usage: hwtest/run.sh [arch...]     arch: amd64 arm64 armhf (default: all three)
# Env:   HWTEST_NO_APT=1   skip apt-get install (packages already there)
#        HWTEST_NO_KIOSKD=1 leave kioskd out (harness self-check only; fails)
#        HWTEST_KIOSKD_PKG=./path build kioskd from another package (development)
#        HWTEST_KIOSKD_BIN=file use a prebuilt kioskd (one arch only; development)
#        HWTEST_VERBOSE=1  echo the guest console while it runs
#        HWTEST_ONLY=a,b   run only these scenarios (names as in the report);
#                          selftest.guest-frozen freezes the guest to check
#                          the host-side deadline (fails on purpose)
#        HWTEST_VM_TIMEOUT=s  kill a VM after s seconds (default 600)
# Exit:  0 all scenarios passed; 77 the package archive was unreachable
#        (skipped, said loudly); anything else is a failure.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
CACHE=${HWTEST_CACHE:-$HERE/.cache}
ARCHES=("$@")
[ ${#ARCHES[@]} -eq 0 ] && ARCHES=(amd64 arm64 armhf)
EXIT_SKIP=77

log() { printf '[hwtest %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() { log "FAIL: $*"; exit 1; }
skip() {
	log "################################################################"
	log "SKIPPED: $*"
	log "the hardware-in-the-loop test did NOT run"
	log "################################################################"
	exit $EXIT_SKIP
}

# unreachable LOG: whether an apt log shows the archive could not be reached
# at all (as opposed to a package or index problem, which is a failure).
unreachable() {
	grep -qiE "Could not resolve|Temporary failure resolving|Could not connect|Unable to connect|Connection (failed|refused|timed out)|Network is unreachable|No route to host" "$1"
}

T0=$(date +%s)
mkdir -p "$CACHE/debs"
DEBS="$CACHE/debs"

SUDO=
[ "$(id -u)" -ne 0 ] && SUDO=sudo

# ---------------------------------------------------------------- host tools
host_packages() {
	local pkgs=(qemu-system-x86 qemu-system-arm busybox-static cpio kmod gcc make
		gcc-aarch64-linux-gnu libc6-dev xz-utils)
	[[ " ${ARCHES[*]} " == *" armhf "* ]] && pkgs+=(gcc-arm-linux-gnueabihf)
	local missing=()
	for p in "${pkgs[@]}"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
	done
	APTO=()
	[ ${#missing[@]} -gt 0 ] && apt_update host

	if [ ${#missing[@]} -gt 0 ] && [ -z "${HWTEST_NO_APT:-}" ]; then
		log "apt-get install ${missing[*]}"
		if ! DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}" \
			>"$CACHE/apt-install.log" 2>&1; then
			tail -20 "$CACHE/apt-install.log" >&2
			unreachable "$CACHE/apt-install.log" && skip "the Debian package archive cannot be reached (apt-get install)"
			die "apt-get install failed"
		fi
	fi
}

# apt_update NAME: apt-get update (with the options in APTO), unless done in
# the last 12 hours.
apt_update() {
	local stamp="$CACHE/.apt-updated-$1" log="$CACHE/apt-update-$1.log"
	[ -f "$stamp" ] && [ -z "$(find "$stamp" -mmin +720)" ] && return 0
	log "apt-get update ($1)"
	if ! $SUDO apt-get "${APTO[@]}" update -q >"$log" 2>&1 || grep -qE '^(W|E): ' "$log"; then
		unreachable "$log" && skip "the Debian package archive cannot be reached (apt-get update)"
		# An index that failed for another reason (a mirror mid-sync) is not
		# fatal: apt keeps what it had and what we need may still resolve; a
		# real miss fails below, loudly.
		grep -E '^(W|E): ' "$log" >&2
		log "apt-get update reported errors (above); going on with the lists apt has"
	else
		touch "$stamp"
	fi
}

# apt_for ARCH: point apt at the package lists for ARCH. Foreign kernels and
# busybox are looked up in private lists under the cache (ARCH and amd64 for
# the build tools), so the machine's dpkg architectures and apt lists are
# never changed, and one architecture's broken mirror index cannot hide
# another's packages.
apt_for() {
	local a=$1
	DEBS="$CACHE/debs/$a"
	mkdir -p "$DEBS"
	if [ "$a" = "$(dpkg --print-architecture)" ]; then
		APTO=()
		apt_update host
		return 0
	fi
	local d="$CACHE/apt-$a"
	mkdir -p "$d/lists/partial" "$d/cache/archives/partial"
	APTO=(-o "Dir::State::Lists=$d/lists" -o "Dir::Cache=$d/cache" -o "Dir::State::status=/dev/null"
		-o "APT::Architectures::=$(dpkg --print-architecture)" -o "APT::Architectures::=$a")
	apt_update "$a"
}

# flavour ARCH: Debian's kernel flavour booted for ARCH (armhf: the LPAE
# multiplatform kernel, which QEMU's virt board runs with a Cortex-A15).
flavour() { case $1 in armhf) echo armmp-lpae ;; *) echo "$1" ;; esac; }

# abi ARCH: the kernel ABI the linux-image-FLAVOUR metapackage points at today.
abi() {
	local a=$1 f q
	f=$(flavour "$1")
	q=linux-image-$f
	[ "$a" != "$(dpkg --print-architecture)" ] && q="$q:$a"
	apt-cache "${APTO[@]}" depends "$q" 2>/dev/null | sed -n "s/.*Depends: linux-image-\([0-9][^:]*-$f\)\(:.*\)\?$/\1/p" | head -1
}

# fetch PKG...: apt-get download into the deb cache what is not there yet
# (one apt-get call: each costs seconds of start-up).
fetch() {
	local p need=()
	for p in "$@"; do
		ls "$DEBS/${p%%:*}_"*.deb >/dev/null 2>&1 || need+=("$p")
	done
	[ ${#need[@]} -eq 0 ] && return 0
	log "apt-get download ${need[*]}"
	if ! (cd "$DEBS" && apt-get "${APTO[@]}" download -q "${need[@]}" >/dev/null 2>"$DEBS/.err"); then
		cat "$DEBS/.err" >&2
		unreachable "$DEBS/.err" && skip "the Debian package archive cannot be reached (apt-get download)"
		die "apt-get download ${need[*]} failed"
	fi
}
debfile() { ls "$DEBS/${1}_"*.deb | head -1; }

# -------------------------------------------------------- kernel + modules
# gpio_sources VER: gpio-sim.c, gpiolib.h and irq_sim.c from linux-source-VER,
# with irq_sim made buildable as a module: irq_to_desc is not exported, so use
# generic_handle_irq, and give it a licence so it may use GPL symbols.
gpio_sources() {
	local ver=$1 dir="$CACHE/gpio-src-$1"
	if [ ! -f "$dir/.ok" ]; then
		fetch "linux-source-$ver"
		log "extracting gpio-sim and irq_sim from linux-source-$ver"
		rm -rf "$dir" && mkdir -p "$dir/x"
		dpkg-deb --fsys-tarfile "$(debfile "linux-source-$ver")" |
			tar -xO "./usr/src/linux-source-$ver.tar.xz" | xz -dc -T2 |
			tar -x -C "$dir/x" "linux-source-$ver/drivers/gpio/gpio-sim.c" \
				"linux-source-$ver/drivers/gpio/gpiolib.h" "linux-source-$ver/kernel/irq/irq_sim.c"
		mv "$dir"/x/*/drivers/gpio/gpio-sim.c "$dir"/x/*/drivers/gpio/gpiolib.h "$dir"/x/*/kernel/irq/irq_sim.c "$dir/"
		rm -rf "$dir/x"
		sed -i 's/handle_simple_irq(irq_to_desc(irqnum))/generic_handle_irq(irqnum)/' "$dir/irq_sim.c"
		grep -q 'generic_handle_irq(irqnum)' "$dir/irq_sim.c" || die "irq_sim.c: the expected irq_to_desc call was not found (kernel changed?)"
		printf '\n#include <linux/module.h>\nMODULE_LICENSE("GPL");\nMODULE_DESCRIPTION("irq_sim built out of tree for hwtest");\n' >>"$dir/irq_sim.c"
		printf 'obj-m := irq_sim.o gpio-sim.o\n' >"$dir/Kbuild"
		touch "$dir/.ok"
	fi
	echo "$dir"
}

# input_modules ARCH: add the input modules (evdev, uinput: both =m in
# Debian's kernels) to a kernel unpacked before the guest needed them, so an
# older cache does not have to be rebuilt whole.
input_modules() {
	local mdir="$KDIR/root/lib/modules/$KABI/kernel/drivers/input"
	[ -f "$mdir/evdev.ko" ] && [ -f "$mdir/misc/uinput.ko" ] && return 0
	local sfx=""
	[ "$1" != "$(dpkg --print-architecture)" ] && sfx=":$1"
	fetch "linux-image-$KABI$sfx"
	log "unpacking the input modules of $KABI"
	dpkg-deb --fsys-tarfile "$(debfile "linux-image-$KABI")" | tar -x -C "$KDIR/root" --wildcards \
		"./lib/modules/$KABI/kernel/drivers/input/*"
	[ -f "$mdir/evdev.ko" ] && [ -f "$mdir/misc/uinput.ko" ] || die "evdev.ko or uinput.ko missing from linux-image-$KABI"
}

# kernel ARCH: download and unpack the kernel and headers, build the modules.
# Sets KDIR (the unpacked root) and KABI.
kernel() {
	local a=$1
	KABI=$(abi "$a")
	[ -n "$KABI" ] || skip "cannot resolve the kernel ABI for $a (apt-cache depends linux-image-$(flavour "$a"))"
	KDIR="$CACHE/kernel-$KABI"
	if [ -f "$KDIR/.ok" ]; then
		input_modules "$a"
		return 0
	fi
	local sfx="" srcver=${KABI%%.0-*}
	[ "$a" != "$(dpkg --print-architecture)" ] && sfx=":$a"
	local common=${KABI%-"$(flavour "$a")"}-common
	fetch "linux-image-$KABI$sfx" "linux-headers-$KABI$sfx" "linux-headers-$common" \
		"linux-kbuild-$srcver" v4l2loopback-dkms
	rm -rf "$KDIR" && mkdir -p "$KDIR/root" "$KDIR/modules"
	log "unpacking kernel $KABI"
	# Of the image only the kernel and the module folders the guest can need
	# (unpacking all of its ~400 MB of modules costs ~15 s per arch).
	dpkg-deb --fsys-tarfile "$(debfile "linux-image-$KABI")" | tar -x -C "$KDIR/root" --wildcards \
		"./boot/vmlinuz-$KABI" "./lib/modules/$KABI/modules.*" \
		"./lib/modules/$KABI/kernel/drivers/media/*" "./lib/modules/$KABI/kernel/fs/configfs/*" \
		"./lib/modules/$KABI/kernel/drivers/input/*"
	local d
	for d in "linux-headers-$KABI" "linux-headers-$common" "linux-kbuild-$srcver" v4l2loopback-dkms; do
		dpkg -x "$(debfile "$d")" "$KDIR/root"
	done
	# The headers' Makefile includes the common tree by absolute path; point it
	# at our unpacked copy instead of /usr/src.
	local hdr="$KDIR/root/usr/src/linux-headers-$KABI"
	sed -i "s#^include /usr/src/#include $KDIR/root/usr/src/#" "$hdr/Makefile"
	local cross=()
	case $a in
	amd64) ;;
	arm64) cross=(CROSS_COMPILE=aarch64-linux-gnu-) ;;
	armhf) cross=(CROSS_COMPILE=arm-linux-gnueabihf-) ;;
	esac
	local gsrc
	gsrc=$(gpio_sources "$srcver")
	log "building gpio-sim + irq_sim and v4l2loopback for $KABI"
	mkdir -p "$KDIR/build/gpio" "$KDIR/build/v4l"
	cp "$gsrc"/*.c "$gsrc"/*.h "$gsrc/Kbuild" "$KDIR/build/gpio/"
	# The armmp kernels' headers lack what the OF device table alias needs
	# out of tree; gpio-sim is made through configfs, never from a device tree.
	[ "$a" = armhf ] && sed -i '/MODULE_DEVICE_TABLE(of,/d' "$KDIR/build/gpio/gpio-sim.c"
	cp "$KDIR"/root/usr/src/v4l2loopback-*/*.[ch] "$KDIR"/root/usr/src/v4l2loopback-*/Makefile "$KDIR/build/v4l/"
	local m
	for m in gpio v4l; do
		make -C "$hdr" M="$KDIR/build/$m" "${cross[@]}" -j2 modules >"$KDIR/build/$m.log" 2>&1 ||
			{ tail -30 "$KDIR/build/$m.log" >&2; die "building $m modules for $KABI failed"; }
		if grep -q 'undefined!' "$KDIR/build/$m.log"; then
			grep 'undefined!' "$KDIR/build/$m.log" >&2
			die "$m modules for $KABI use unexported symbols"
		fi
	done
	cp "$KDIR/build/gpio/"*.ko "$KDIR/build/v4l/"*.ko "$KDIR/modules/"
	touch "$KDIR/.ok"
}

# ---------------------------------------------------------------- initramfs
goarch() { case $1 in armhf) echo arm ;; *) echo "$1" ;; esac; }

# initramfs ARCH: busybox, the modules and their dependencies, the guest
# programs. Writes $WORK/initrd.gz.
initramfs() {
	local a=$1 st="$WORK/root"
	rm -rf "$st" && mkdir -p "$st"/{bin,dev,proc,sys,tmp,etc,run,var/lib/kioskd}
	# busybox-static for the guest architecture.
	local bb
	if [ "$a" = "$(dpkg --print-architecture)" ]; then
		bb=/bin/busybox
	else
		local sfx=":$a"
		fetch "busybox-static$sfx"
		mkdir -p "$CACHE/bb-$a" && dpkg -x "$(debfile busybox-static)" "$CACHE/bb-$a"
		bb="$CACHE/bb-$a/bin/busybox"
	fi
	cp "$bb" "$st/bin/busybox"

	# Modules: resolve dependencies with depmod over the full tree plus ours,
	# then copy only the closure of what the guest loads.
	local mroot="$KDIR/root/lib/modules/$KABI"
	mkdir -p "$mroot/extra" && cp "$KDIR/modules/"*.ko "$mroot/extra/"
	depmod -b "$KDIR/root" "$KABI"
	local want=(extra/gpio-sim.ko extra/v4l2loopback.ko kernel/fs/configfs/configfs.ko
		kernel/drivers/input/evdev.ko kernel/drivers/input/misc/uinput.ko)
	local closure=() w
	for w in "${want[@]}"; do
		closure+=("$w")
		local deps
		deps=$(sed -n "s#^$w:##p" "$mroot/modules.dep")
		# shellcheck disable=SC2206
		closure+=($deps)
	done
	local dst="$st/lib/modules/$KABI"
	for w in "${closure[@]}"; do
		[ -f "$mroot/$w" ] || die "module $w missing from $KABI"
		mkdir -p "$dst/$(dirname "$w")" && cp "$mroot/$w" "$dst/$w"
	done
	cp "$mroot/modules.order" "$mroot/modules.builtin" "$mroot/modules.builtin.modinfo" "$dst/" 2>/dev/null || true
	depmod -b "$st" "$KABI"

	cp "$WORK/hwguest" "$st/bin/hwguest"
	[ -f "$WORK/kioskd" ] && cp "$WORK/kioskd" "$st/bin/kioskd"
	cp "$HERE/guest-init.sh" "$st/init"
	chmod 755 "$st/init" "$st/bin/"*
	(cd "$st" && find . | cpio -o -H newc --quiet | gzip -1) >"$WORK/initrd.gz"
}

gobuild() {
	local a=$1
	log "building guest programs for $a"
	(cd "$REPO" && CGO_ENABLED=0 GOOS=linux GOARCH=$(goarch "$a") GOARM=7 go build -trimpath -o "$WORK/hwguest" ./hwtest/cmd/hwguest) ||
		die "go build hwguest failed"
	rm -f "$WORK/kioskd"
	if [ -n "${HWTEST_KIOSKD_BIN:-}" ]; then
		cp "$HWTEST_KIOSKD_BIN" "$WORK/kioskd"
	elif [ -z "${HWTEST_NO_KIOSKD:-}" ]; then
		(cd "$REPO" && CGO_ENABLED=0 GOOS=linux GOARCH=$(goarch "$a") GOARM=7 go build -trimpath -o "$WORK/kioskd" "${HWTEST_KIOSKD_PKG:-./cmd/kioskd}") ||
			die "go build kioskd failed"
	fi
}

# ---------------------------------------------------------------- boot
# console_phase FILE: what the guest is doing according to its console, and
# how long the host lets it take (seconds): "boot 300" until HWTEST-BOOTED,
# "setup 120" until the first scenario, "NAME BOUND+60" once the guest
# printed "HWTEST-START NAME BOUND" and until its report line, "after:NAME
# 120" between scenarios. The guest bounds each scenario itself and prints
# its goroutines when one overruns; the host's deadline is the backstop for
# a guest hung below its own scheduler (timers that never fire, a kernel
# stuck with interrupts off), which before was seen only as a VM killed at
# HWTEST_VM_TIMEOUT "without a result marker".
console_phase() {
	tr -d '\r' <"$1" | awk '
		BEGIN { p = "boot"; b = 300 }
		/^HWTEST-BOOTED/ { p = "setup"; b = 120 }
		/^HWTEST-START / { p = $2; b = $3 + 60 }
		/^HWTEST [a-z0-9]+ +(PASS|FAIL) / { p = "after:" $4; b = 120 }
		/^HWTEST-EXIT/ { p = "exit"; b = 60 }
		END { print p, b }'
}

# watch_console PID FILE: while PID (the VM) runs, follow its console's
# phases; if one outlasts its bound, kill the VM and print which phase hung
# and how. Prints the failure to stdout (empty when the VM ended by itself).
watch_console() {
	local pid=$1 out=$2 phase="" bound since now cur
	since=$(date +%s)
	while kill -0 "$pid" 2>/dev/null; do
		read -r cur bound < <(console_phase "$out")
		now=$(date +%s)
		if [ "$cur" != "$phase" ]; then
			phase=$cur
			since=$now
		elif [ $((now - since)) -gt "$bound" ]; then
			kill "$pid" 2>/dev/null
			echo "the guest spent over ${bound}s in phase '$phase' (host-side deadline: the guest's own per-scenario bound did not report)"
			return 0
		fi
		sleep 1
	done
}

boot() {
	local a=$1 out="$WORK/console.log"
	local vmlinuz="$KDIR/root/boot/vmlinuz-$KABI"
	# panic=-1 and -no-reboot: a guest kernel that panics ends the VM at
	# once, its message on the console. The lockup detectors are made to
	# panic, so a guest wedged in the kernel says so instead of going
	# silent: soft lockup (a CPU not scheduling for 2*watchdog_thresh s; 15
	# leaves room for a host that stops running the VM for a while), hung
	# task (D state for 60 s), RCU stall. loglevel=4 lets their KERN_ERR
	# details through.
	local append="console=ttyS0 panic=-1 quiet loglevel=4 hwtest.arch=$a"
	append="$append softlockup_panic=1 watchdog_thresh=15 hung_task_panic=1"
	append="$append sysctl.kernel.hung_task_timeout_secs=60 sysctl.kernel.panic_on_rcu_stall=1"
	[ -n "${HWTEST_ONLY:-}" ] && append="$append hwtest.only=$HWTEST_ONLY"
	local qemu
	case $a in
	amd64)
		qemu=(qemu-system-x86_64 -accel tcg -cpu max -smp 2 -m 1024
			-device isa-debug-exit,iobase=0xf4,iosize=0x04)
		;;
	arm64)
		append=${append/ttyS0/ttyAMA0}
		qemu=(qemu-system-aarch64 -M virt -cpu cortex-a72 -smp 2 -m 1024)
		;;
	armhf)
		append=${append/ttyS0/ttyAMA0}
		qemu=(qemu-system-arm -M virt -cpu cortex-a15 -smp 2 -m 1024)
		;;
	esac
	log "booting $a ($KABI)"
	local t0 rc=0 qpid tpid="" hung
	t0=$(date +%s.%N)
	: >"$out"
	timeout "${HWTEST_VM_TIMEOUT:-600}" "${qemu[@]}" -nographic -no-reboot -kernel "$vmlinuz" \
		-initrd "$WORK/initrd.gz" -append "$append" </dev/null >"$out" 2>&1 &
	qpid=$!
	if [ -n "${HWTEST_VERBOSE:-}" ]; then
		tail -n +1 -F --pid="$qpid" "$out" >&2 2>/dev/null &
		tpid=$!
	fi
	hung=$(watch_console "$qpid" "$out")
	wait "$qpid" || rc=$?
	[ -z "$tpid" ] || wait "$tpid" 2>/dev/null || true
	if [ -n "$hung" ]; then
		tr -d '\r' <"$out" | grep -E '^(HWTEST|  )' | sed "s/^/[$a] /" >&2 || true
		log "---- last console lines ----"
		tr -d '\r' <"$out" | tail -40 >&2
		die "$a: $hung; full log: $out"
	fi
	local secs
	secs=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}')
	tr -d '\r' <"$out" | grep -E '^(HWTEST|  )' | sed "s/^/[$a] /" >&2 || true
	local marker
	marker=$(tr -d '\r' <"$out" | sed -n 's/^HWTEST-EXIT \([0-9]*\)$/\1/p' | tail -1)
	if [ -z "$marker" ]; then
		tail -40 "$out" >&2
		# A kernel that panicked (lockup detectors above) said why.
		tr -d '\r' <"$out" | grep -E 'Kernel panic|soft lockup|blocked for more than|rcu.*stall' | head -5 | sed 's/^/kernel: /' >&2 || true
		die "$a: no result marker on the console (qemu exit $rc); full log: $out"
	fi
	if [ "$a" = amd64 ] && [ "$rc" -ne $(((marker << 1) | 1)) ]; then
		die "$a: isa-debug-exit status $rc does not match the console marker $marker"
	fi
	log "$a: VM ran ${secs}s, guest exit $marker"
	RESULTS+=("$a:$marker:${secs}")
	return 0
}

# ---------------------------------------------------------------- main
host_packages
RESULTS=()
FAILED=0
for a in "${ARCHES[@]}"; do
	case $a in amd64 | arm64 | armhf) ;; *) die "unknown arch $a (amd64, arm64, armhf)" ;; esac
	tk=$(date +%s)
	apt_for "$a"
	kernel "$a"
	WORK="$CACHE/work-$a"
	mkdir -p "$WORK"
	gobuild "$a"
	initramfs "$a"
	log "$a: prepared in $(($(date +%s) - tk))s"
	boot "$a"
done
log "total $(($(date +%s) - T0))s"
for r in "${RESULTS[@]}"; do
	IFS=: read -r a code secs <<<"$r"
	if [ "$code" != 0 ]; then
		log "$a: FAILED (guest exit $code)"
		FAILED=1
	else
		log "$a: PASS"
	fi
done
exit $FAILED
