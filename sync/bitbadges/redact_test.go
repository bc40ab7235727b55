package bitbadges_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/kioskd/kioskd/sync/bitbadges"
)

// A server message is cut at 200 characters. A refresh token short enough
// to escape the token-shaped pattern, echoed right at the cut, must not
// leave its first characters behind: it has to be redacted before the cut,
// like the API key and the client secret.
func TestRefreshTokenRedactedBeforeTheCut(t *testing.T) {
	const refresh = "R3fr3sh-tok-of-the-venue"
	for pad := 180; pad <= 200; pad++ {
		mux := http.NewServeMux()
		mux.HandleFunc("/siwbb/token", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusBadRequest)
			json.NewEncoder(w).Encode(map[string]string{"errorMessage": strings.Repeat("a ", pad/2) + strings.Repeat("b", pad%2) + " " + refresh})
		})
		c := &bitbadges.Client{APIURL: newHTTPServer(t, mux), ClientID: "c", APIKey: "k3y-k3y", ClientSecret: "s3cr3t"}
		_, err := c.RefreshAccessToken(context.Background(), refresh)
		if err == nil {
			t.Fatal("no error")
		}
		if strings.Contains(err.Error(), refresh[:4]) {
			t.Fatalf("pad %d: error %q leaks the start of the refresh token", pad, err)
		}
	}
}
