package assembly

// The kinds this kioskd is built with. Each package registers itself from
// init() (input.Register, output.Register, page.Register,
// gpio.RegisterDriver); a new kind is one more blank import here.
import (
	_ "github.com/kioskd/kioskd/desk"         // page kind "desk" (http.pages)
	_ "github.com/kioskd/kioskd/gpio/cdev"    // gpio.driver "cdev" (sim and none are gpio's own)
	_ "github.com/kioskd/kioskd/input/camera" // input kind "camera"
	_ "github.com/kioskd/kioskd/screen"       // page kind "screen" (http.pages)
)
