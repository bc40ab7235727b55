//go:build linux

package cdev

import (
	"testing"
	"unsafe"
)

// TestUAPILayout pins the structs and ioctl numbers to the values of
// <linux/gpio.h> (printed by a C program built against linux-libc-dev 6.x
// on x86-64; the v2 structs are padded to be identical on 32-bit ARM).
func TestUAPILayout(t *testing.T) {
	var r lineRequest
	tests := []struct {
		name      string
		got, want uintptr
	}{
		{"sizeof gpio_v2_line_request", unsafe.Sizeof(r), 592},
		{"offsetof config", unsafe.Offsetof(r.config), 288},
		{"offsetof num_lines", unsafe.Offsetof(r.numLines), 560},
		{"offsetof fd", unsafe.Offsetof(r.fd), 588},
		{"sizeof gpio_v2_line_values", unsafe.Sizeof(lineValues{}), 16},
		{"GPIO_V2_GET_LINE_IOCTL", getLineIoctl, 0xc250b407},
		{"GPIO_V2_LINE_SET_VALUES_IOCTL", setValuesIoctl, 0xc010b40f},
		{"GPIO_V2_LINE_FLAG_OUTPUT", lineFlagOutput, 0x8},
		{"GPIO_V2_LINE_ATTR_ID_OUTPUT_VALUES", attrOutputValues, 2},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s = %#x, want %#x", tt.name, tt.got, tt.want)
		}
	}
}
