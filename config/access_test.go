package config

import (
	"errors"
	"strings"
	"testing"
)

func TestAccessParse(t *testing.T) {
	c, err := Parse([]byte(`
bitbadges: {client_id: app}
access:
  match: any
  max_owners_age: 2h
  stale_owners: warn
  require:
    - {name: Season pass, collection_id: "17", token_ids: [1, "5-10", {start: 20, end: 20}]}
    - {name: VIP, collection_id: "18", token_ids: ["3"], min_amount: 2}
`))
	if err != nil {
		t.Fatal(err)
	}
	a := c.Access
	if !a.Gated() || a.Match != "any" || a.StaleOwners != "warn" || len(a.Require) != 2 {
		t.Fatalf("access = %+v", a)
	}
	if got := a.Require[0].Key(); got != "17:1,5-10,20" {
		t.Errorf("key = %q", got)
	}
	if a.Require[0].MinAmount != 1 || a.Require[1].MinAmount != 2 {
		t.Errorf("min_amount = %d, %d; want the default 1 and 2", a.Require[0].MinAmount, a.Require[1].MinAmount)
	}
	d, err := Parse(nil)
	if err != nil || d.Access.Gated() || d.Access.Match != "all" || d.Access.StaleOwners != "reject" {
		t.Fatalf("default access = %+v, %v", d.Access, err)
	}
}

func TestAccessInvalid(t *testing.T) {
	for _, tc := range []struct{ yaml, key, msg string }{
		{`access: {match: some}`, "access.match", "all or any"},
		{`access: {stale_owners: ignore}`, "access.stale_owners", "reject or warn"},
		{`access: {max_owners_age: -1h}`, "access.max_owners_age", "negative"},
		{`access: {require: [{collection_id: "1", token_ids: [1]}]}`, "access.require[0].name", "empty"},
		{`access: {require: [{name: a, collection_id: "x", token_ids: [1]}]}`, "access.require[0].collection_id", "whole number"},
		{`access: {require: [{name: a, collection_id: "1"}]}`, "access.require[0].token_ids", "at least one"},
		{`access: {require: [{name: a, collection_id: "1", token_ids: ["0"]}]}`, "access.require[0].token_ids", "start at 1"},
		{`access: {require: [{name: a, collection_id: "1", token_ids: ["9-3"]}]}`, "access.require[0].token_ids", "ends before"},
		{`access: {require: [{name: a, collection_id: "1", token_ids: ["1-5", "5-6"]}]}`, "access.require[0].token_ids", "overlap"},
		{`access: {require: [{name: a, collection_id: "1", token_ids: ["1-1001"]}]}`, "access.require[0].token_ids", "at most 1000"},
		{`access: {require: [{name: a, collection_id: "1", token_ids: ["1-600"]}, {name: b, collection_id: "2", token_ids: ["1-600"]}]}`, "access.require[1].token_ids", "at most 1000"},
		{`access: {require: [{name: a, collection_id: "1", token_ids: [1]}, {name: a, collection_id: "2", token_ids: [1]}]}`, "access.require[1].name", "twice"},
	} {
		_, err := Parse([]byte("bitbadges: {client_id: app}\n" + tc.yaml))
		var ke *KeyError
		if !errors.As(err, &ke) || ke.Key != tc.key || !strings.Contains(ke.Msg, tc.msg) {
			t.Errorf("%s: err = %v; want %s: …%s…", tc.yaml, err, tc.key, tc.msg)
		}
	}
	if _, err := Parse([]byte(`access: {require: [{name: a, collection_id: "1", token_ids: ["x-y"]}]}`)); err == nil {
		t.Error("a token range that is not numbers was accepted")
	}
	if _, err := Parse([]byte(`access: {requires: []}`)); err == nil {
		t.Error("an unknown access key was accepted")
	}
	_, err := Parse([]byte(`access: {require: [{name: a, collection_id: "1", token_ids: [1]}]}`))
	var ke *KeyError
	if !errors.As(err, &ke) || ke.Key != "access.require" || !strings.Contains(ke.Msg, "client_id") {
		t.Errorf("gating without a sync: %v", err)
	}
	_, err = Parse([]byte(`bitbadges: {client_id: app}
http: {listen: "127.0.0.1:8080"}
display: {enabled: true, tenant_id: t, secret_key_file: s}
access: {require: [{name: a, collection_id: "1", token_ids: [1]}]}`))
	if !errors.As(err, &ke) || ke.Key != "display.enabled" {
		t.Errorf("gating with the display sign-in: %v", err)
	}
}
