package bitbadges

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

const testCode = "9c4e0b6f1a2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f"

func TestParseRecord(t *testing.T) {
	doc := HashCode(testCode)
	for _, tc := range []struct {
		name      string
		raw       string
		want      Record
		deleted   bool
		malformed bool
	}{
		{name: "strings", raw: `{"_docId":"` + doc + `","_id":"66840f0c","code":"` + testCode + `","bitbadgesAddress":"bb1q","address":"0xab","chain":"ETH","name":"Check-in","scopes":[],"expiresAt":"0","createdAt":"1719878400000","clientId":"c"}`,
			want: Record{DocID: doc, ID: "66840f0c", Code: testCode, BitBadgesAddress: "bb1q", Address: "0xab", Chain: "ETH", Name: "Check-in", CreatedAt: time.UnixMilli(1719878400000).UTC()}},
		{name: "numbers", raw: `{"_docId":"` + doc + `","createdAt":1719878400000,"expiresAt":1719878500000.0}`,
			want: Record{DocID: doc, CreatedAt: time.UnixMilli(1719878400000).UTC(), ExpiresAt: time.UnixMilli(1719878500000).UTC()}},
		{name: "no code, upper-case docId", raw: `{"_docId":"` + strings.ToUpper(doc) + `","cosmosAddress":"cosmos1x"}`,
			want: Record{DocID: doc, BitBadgesAddress: "cosmos1x", Address: "cosmos1x"}},
		{name: "code without docId", raw: `{"code":"` + testCode + `","_id":12345}`,
			want: Record{DocID: doc, Code: testCode, ID: "12345"}},
		{name: "unknown fields and nulls", raw: `{"_docId":"` + doc + `","future":{"a":[1,2]},"name":null,"expiresAt":null,"createdAt":""}`,
			want: Record{DocID: doc}},
		{name: "deleted", raw: `{"_docId":"` + doc + `","deletedAt":"1719878400001"}`, deleted: true},
		{name: "deleted as number", raw: `{"_docId":"` + doc + `","deletedAt":5}`, deleted: true},
		{name: "deletedAt zero is not deleted", raw: `{"_docId":"` + doc + `","deletedAt":"0"}`, want: Record{DocID: doc}},
		{name: "code does not hash to docId", raw: `{"_docId":"` + strings.Repeat("0", 64) + `","code":"` + testCode + `"}`, malformed: true},
		{name: "short code", raw: `{"code":"abc"}`, malformed: true},
		{name: "bad docId", raw: `{"_docId":"xyz"}`, malformed: true},
		{name: "nothing to match", raw: `{"name":"x"}`, malformed: true},
		{name: "timestamp not a number", raw: `{"_docId":"` + doc + `","createdAt":"yesterday"}`, malformed: true},
		{name: "negative timestamp", raw: `{"_docId":"` + doc + `","createdAt":-1}`, malformed: true},
		{name: "wrong type", raw: `{"_docId":"` + doc + `","name":5}`, malformed: true},
		{name: "not an object", raw: `"` + testCode + `"`, malformed: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := ParseRecord(json.RawMessage(tc.raw))
			switch {
			case tc.deleted:
				if !IsDeleted(err) {
					t.Fatalf("want deleted, got %v", err)
				}
			case tc.malformed:
				if !errors.Is(err, ErrMalformed) {
					t.Fatalf("want malformed, got %v (%+v)", err, r)
				}
				if strings.Contains(err.Error(), testCode) {
					t.Fatal("error quotes the code")
				}
			case err != nil:
				t.Fatal(err)
			case r != tc.want:
				t.Fatalf("got  %+v\nwant %+v", r, tc.want)
			}
		})
	}
}

func TestParsePage(t *testing.T) {
	for _, tc := range []struct {
		raw     string
		n       int
		more    bool
		mark    string
		wantErr bool
	}{
		{raw: `{"siwbbRequests":[],"pagination":{"bookmark":"","hasMore":false}}`},
		{raw: `{"siwbbRequests":[{},{}],"pagination":{"bookmark":"b","hasMore":true},"extra":1}`, n: 2, more: true, mark: "b"},
		{raw: `{"siwbbRequests":[{}],"pagination":{"bookmark":7,"hasMore":"true"}}`, n: 1, more: true, mark: "7"},
		{raw: `{"siwbbRequests":[]}`, wantErr: true},
		{raw: `{"pagination":{"hasMore":false}}`, wantErr: true},
		{raw: `{"siwbbRequests":[],"pagination":{"bookmark":"x"}}`, wantErr: true},
		{raw: `{"siwbbRequests":{},"pagination":{"hasMore":false}}`, wantErr: true},
		{raw: `{"siwbbRequests":[],"pagination":{"hasMore":1}}`, wantErr: true},
		{raw: `{"siwbbRequests":[{"_docId":`, wantErr: true},
		{raw: `<html>`, wantErr: true},
		{raw: ``, wantErr: true},
	} {
		p, err := ParsePage([]byte(tc.raw))
		if tc.wantErr {
			if !errors.Is(err, ErrMalformed) {
				t.Errorf("%s: want ErrMalformed, got %v", tc.raw, err)
			}
			continue
		}
		if err != nil || len(p.Records) != tc.n || p.HasMore != tc.more || p.Bookmark != tc.mark {
			t.Errorf("%s: got %+v, %v", tc.raw, p, err)
		}
	}
}

// FuzzParsePage checks the page and record parsers never panic, never
// return a record that cannot be matched, and never quote a code in an error.
func FuzzParsePage(f *testing.F) {
	doc := HashCode(testCode)
	f.Add([]byte(`{"siwbbRequests":[{"_docId":"` + doc + `","code":"` + testCode + `","createdAt":"1719878400000","expiresAt":0}],"pagination":{"bookmark":"a","hasMore":true}}`))
	f.Add([]byte(`{"siwbbRequests":[{"_docId":"` + doc + `","deletedAt":"1"},{"code":"` + testCode + `"}],"pagination":{"bookmark":"","hasMore":false}}`))
	f.Add([]byte(`{"siwbbRequests":[{"createdAt":1.5e12}],"pagination":{"hasMore":"false"}}`))
	f.Add([]byte(`{"siwbbRequests":[1,"x",null],"pagination":{"hasMore":false}}`))
	f.Add([]byte(`{"Pagination":{"bookmark":7,"hasMore":"true"},"x":[{"y":null}],"SIWBBRequests":[{"_docId":"` + doc + `","expiresAt":-1},{}]}`))
	f.Add([]byte(`{"pagination":{"bookmark":"a","hasMore":true},"pagination":{"hasMore":false},"siwbbRequests":null,"siwbbRequests":[]} `))
	f.Add([]byte(`{"siwbbRequests":[],"pagination":{"hasMore":false}}{}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		p, err := ParsePage(body)
		d, derr := parsePage(body)
		if err == nil && len(p.Records) > DefaultMaxPageRecords && errors.Is(derr, ErrTooLarge) {
			return // past the record bound, which ParsePage does not apply
		}
		if (err == nil) != (derr == nil) {
			t.Fatalf("the one-pass parser disagrees: %v vs %v", derr, err)
		}
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("page error not ErrMalformed: %v", err)
			}
			return
		}
		if d.count != len(p.Records) || d.hasMore != p.HasMore || d.bookmark != p.Bookmark {
			t.Fatalf("the one-pass parser disagrees: %+v vs %+v", d, p)
		}
		var fast []Record
		for i := range d.records {
			if r, err := d.records[i].check(); err == nil {
				fast = append(fast, r)
			}
		}
		var slow []Record
		for _, raw := range p.Records {
			r, err := ParseRecord(raw)
			if err == nil {
				slow = append(slow, r)
			}
		}
		if len(fast) != len(slow) {
			t.Fatalf("one-pass parser found %d good records, per-record %d", len(fast), len(slow))
		}
		for i := range fast {
			if fast[i] != slow[i] {
				t.Fatalf("record %d differs", i)
			}
		}
		for _, raw := range p.Records {
			r, err := ParseRecord(raw)
			if err != nil {
				if !IsDeleted(err) && !errors.Is(err, ErrMalformed) {
					t.Fatalf("record error of unexpected kind: %v", err)
				}
				if strings.Contains(err.Error(), testCode) {
					t.Fatal("error quotes a code")
				}
				continue
			}
			if !isHex(r.DocID, 64) || strings.ToLower(r.DocID) != r.DocID {
				t.Fatalf("record with unusable DocID %q", r.DocID)
			}
			if r.Code != "" && HashCode(r.Code) != r.DocID {
				t.Fatal("record whose code does not hash to its DocID")
			}
		}
	})
}

func TestRedact(t *testing.T) {
	long := strings.Repeat("é", 300)
	if got := redact(long); len(got) > 210 || !strings.HasSuffix(got, "…") {
		t.Errorf("not cut on a rune boundary: %q", got[len(got)-8:])
	}
	if got := redact("bad\nline\x00"); got != "bad line" {
		t.Errorf("control characters kept: %q", got)
	}
}

func BenchmarkParsePageOnePass(b *testing.B) {
	var recs []string
	for i := 0; i < 25; i++ {
		code := HashCode(string(rune('a' + i)))
		recs = append(recs, `{"_docId":"`+HashCode(code)+`","_id":"66840f0c9b1e8a0012ab34cd","code":"`+code+
			`","bitbadgesAddress":"bb1qxyabcdefabcdefabcdefabcdefabcdefabcdef","address":"bb1qxyabcdefabcdefabcdefabcdefabcdefabcdef","chain":"Cosmos","name":"Event check-in","scopes":[],"expiresAt":"0","createdAt":"1719878400000","clientId":"my-client-id"}`)
	}
	body := []byte(`{"siwbbRequests":[` + strings.Join(recs, ",") + `],"pagination":{"bookmark":"66840f0c9b1e8a0012ab34cd","hasMore":true}}`)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		d, err := parsePage(body)
		if err != nil || len(d.records) != 25 {
			b.Fatal(err)
		}
		for i := range d.records {
			if _, err := d.records[i].check(); err != nil {
				b.Fatal(err)
			}
		}
	}
}
