package assembly

// The kinds this kioskd is built with. Each package registers itself from
// init() (input.Register, output.Register, page.Register,
// gpio.RegisterDriver); a new kind is one more blank import here.
import (
	_ "github.com/kioskd/kioskd/gpio/cdev"      // gpio.driver "cdev" (sim and none are gpio's own)
	_ "github.com/kioskd/kioskd/input/camera"   // input kind "camera"
	_ "github.com/kioskd/kioskd/input/hid"      // input kind "hid": USB keyboard-wedge scanners (issue 20)
	_ "github.com/kioskd/kioskd/input/serial"   // input kind "serial": serial and UART scanner modules (issue 20)
	_ "github.com/kioskd/kioskd/output/mqtt"    // output kind "mqtt": the hand-off to a till over MQTT (issue 21)
	_ "github.com/kioskd/kioskd/output/webhook" // output kind "webhook": the signed hand-off to a till (issue 21)
)
