package bitbadges

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// Token is the app owner's credentials after a renewal.
type Token struct {
	AccessToken   string
	AccessExpiry  time.Time // zero when the server did not say
	RefreshToken  string    // the rotated refresh token: persist it before using AccessToken
	RefreshExpiry time.Time
}

// String never shows the tokens.
func (t Token) String() string {
	return fmt.Sprintf("token (access until %s)", t.AccessExpiry.Format(time.RFC3339))
}

// GoString keeps %#v from printing the tokens.
func (t Token) GoString() string { return t.String() }

// Exchanged is what a successful exchange of a code says about its holder.
type Exchanged struct {
	Address          string
	BitBadgesAddress string
	Chain            string
	ServerTime       time.Time // the response's Date header, zero if none
}

type tokenRequest struct {
	GrantType    string        `json:"grant_type"`
	ClientID     string        `json:"client_id"`
	ClientSecret string        `json:"client_secret"`
	Code         string        `json:"code,omitempty"`
	RefreshToken string        `json:"refresh_token,omitempty"`
	Options      *tokenOptions `json:"options,omitempty"`
}

type tokenOptions struct {
	// IssuedAtTimeWindowMs 0 turns off BitBadges' "recent enough" check,
	// which would fail every code older than 10 minutes at the door.
	IssuedAtTimeWindowMs int64 `json:"issuedAtTimeWindowMs"`
}

type tokenResponse struct {
	Address              string     `json:"address"`
	BitBadgesAddress     string     `json:"bitbadgesAddress"`
	CosmosAddress        string     `json:"cosmosAddress"`
	Chain                string     `json:"chain"`
	AccessToken          string     `json:"access_token"`
	TokenType            string     `json:"token_type"`
	AccessTokenExpiresAt flexMillis `json:"access_token_expires_at"`
	RefreshToken         string     `json:"refresh_token"`
	RefreshExpiresAt     flexMillis `json:"refresh_token_expires_at"`
	VerificationResponse *struct {
		Success      flexBool `json:"success"`
		ErrorMessage string   `json:"errorMessage"`
	} `json:"verificationResponse"`
}

func (c *Client) token(ctx context.Context, op string, req tokenRequest) (tokenResponse, time.Time, error) {
	req.ClientID, req.ClientSecret = c.ClientID, c.ClientSecret
	body, err := json.Marshal(req)
	if err != nil {
		return tokenResponse{}, time.Time{}, fmt.Errorf("bitbadges %s: encoding request: %w", op, err)
	}
	data, date, err := c.do(ctx, op, http.MethodPost, strings.TrimRight(c.APIURL, "/")+"/siwbb/token", body, "", nil, req.RefreshToken, req.Code)
	if err != nil {
		return tokenResponse{}, date, err
	}
	var tr tokenResponse
	if err := json.Unmarshal(data, &tr); err != nil {
		return tokenResponse{}, date, fmt.Errorf("bitbadges %s: %w: %s", op, ErrMalformed, jsonProblem(err))
	}
	c.serverTime(date)
	return tr, date, nil
}

// RefreshAccessToken renews the app owner's access token with
// grant_type=refresh_token. BitBadges rotates the refresh token: the old one
// is dead once this returns, so the caller must persist Token.RefreshToken
// before doing anything else. When the server sends no new refresh token the
// old one stays valid and is returned as is.
func (c *Client) RefreshAccessToken(ctx context.Context, refreshToken string) (Token, error) {
	if refreshToken == "" {
		return Token{}, errors.New("bitbadges token refresh: no refresh token")
	}
	tr, _, err := c.token(ctx, "token refresh", tokenRequest{GrantType: "refresh_token", RefreshToken: refreshToken})
	if err != nil {
		return Token{}, redactErr(err, refreshToken)
	}
	if tr.AccessToken == "" {
		return Token{}, fmt.Errorf("bitbadges token refresh: %w: no access_token", ErrMalformed)
	}
	t := Token{AccessToken: tr.AccessToken, AccessExpiry: tr.AccessTokenExpiresAt.Time(),
		RefreshToken: tr.RefreshToken, RefreshExpiry: tr.RefreshExpiresAt.Time()}
	if t.RefreshToken == "" {
		t.RefreshToken = refreshToken
	}
	return t, nil
}

// Exchange trades a code for its holder's details with
// grant_type=authorization_code and issuedAtTimeWindowMs 0. It consumes the
// code server-side: a second exchange of the same code fails (with a 500,
// like an unknown code). Success requires verificationResponse.success.
// Bound it with ctx: the person at the door is waiting.
func (c *Client) Exchange(ctx context.Context, code string) (Exchanged, error) {
	tr, date, err := c.token(ctx, "exchange", tokenRequest{GrantType: "authorization_code", Code: code,
		Options: &tokenOptions{IssuedAtTimeWindowMs: 0}})
	if err != nil {
		return Exchanged{ServerTime: date}, redactErr(err, code)
	}
	if tr.VerificationResponse == nil || !bool(tr.VerificationResponse.Success) {
		msg := ""
		if tr.VerificationResponse != nil {
			msg = redact(tr.VerificationResponse.ErrorMessage, c.APIKey, c.ClientSecret, code)
		}
		if msg != "" {
			return Exchanged{ServerTime: date}, fmt.Errorf("bitbadges exchange: %w: %s", ErrNotVerified, msg)
		}
		return Exchanged{ServerTime: date}, fmt.Errorf("bitbadges exchange: %w", ErrNotVerified)
	}
	e := Exchanged{Address: tr.Address, BitBadgesAddress: tr.BitBadgesAddress, Chain: tr.Chain, ServerTime: date}
	if e.BitBadgesAddress == "" {
		e.BitBadgesAddress = tr.CosmosAddress
	}
	if e.Address == "" {
		e.Address = e.BitBadgesAddress
	}
	return e, nil
}

// redactErr is a last guard: should a secret the client was given for this
// call ever appear in an error's text, replace the error's text.
func redactErr(err error, secret string) error {
	if err == nil || secret == "" || !strings.Contains(err.Error(), secret) {
		return err
	}
	return &scrubbed{msg: strings.ReplaceAll(err.Error(), secret, "[redacted]"), err: err}
}
