#!/bin/busybox sh
# /init of the hwtest initramfs: mount the kernel filesystems, load the
# drivers under test, then hand over to the guest driver, which prints the
# per-scenario report and the HWTEST-EXIT marker and powers the VM off.
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs tmpfs /tmp
mount -t tmpfs tmpfs /run
ip link set lo up
modprobe configfs && mount -t configfs configfs /sys/kernel/config
modprobe gpio-sim
# exclusive_caps=1: the capture side exists only while a writer is active,
# which is how a camera that goes away looks to kioskd. max_buffers=2 equals
# kioskd's camera.buffers: v4l2loopback 0.12.7 unlinks buffers without its
# lock when a reader asks for fewer than it has, racing the writer into a
# list corruption BUG (seen here); with equal counts that path never runs.
modprobe v4l2loopback video_nr=7 exclusive_caps=1 card_label=hwtest-cam max_buffers=2
# The scanner's path: uinput makes the virtual keyboard (a keyboard-wedge
# scanner), evdev gives it the /dev/input/eventN node kioskd reads.
modprobe evdev
modprobe uinput
echo "HWTEST-BOOTED $(cut -d' ' -f1 /proc/uptime)s"
/bin/hwguest
rc=$?
# hwguest exits the VM itself; reaching here means it crashed before that.
echo "HWTEST-EXIT $rc"
/bin/hwguest -exit "$rc"
poweroff -f
