package web

import (
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/dawn-ml/dawn/tracking"
)

// TestExplainPage runs a DIFF over a CSV artifact. 10 rows, usage > 1000
// marks 4 outliers (O = 4, N = 10), all in CA, which has n = 5 rows:
// support = o/O = 4/4 = 1, global ratio = (o/n)/(O/N) = 0.8/0.4 = 2.
func TestExplainPage(t *testing.T) {
	f := newFixture(t, nil, "")
	ctx := t.Context()
	id := f.runs["majority"]
	run, _ := f.store.GetRun(ctx, id)
	base := strings.Trim(strings.TrimPrefix(run.Info.ArtifactURI, tracking.ProxyScheme), "/")
	csv := "usage,location\n2000,CA\n2000,CA\n2000,CA\n2000,CA\n10,CA\n10,NY\n10,NY\n10,NY\n10,NY\n10,NY\n"
	if err := f.repo.Put(ctx, base+"/data/sample.csv", strings.NewReader(csv)); err != nil {
		t.Fatal(err)
	}
	sql := "IMPORT FROM CSV FILE 'data/sample.csv' INTO sample(usage double, location string);\n" +
		"SELECT * FROM DIFF (SPLIT sample WHERE usage > 1000.0) ON location;"
	code, body := f.get(t, "/runs/"+id+"/explain?sql="+url.QueryEscape(sql))
	if code != 200 {
		t.Fatalf("%d %s", code, body)
	}
	row := regexp.MustCompile(`(?s)<tr><td>CA</td>(.*?)</tr>`).FindStringSubmatch(body)
	if row == nil {
		t.Fatalf("no CA explanation:\n%s", body)
	}
	// support 1.0 and global_ratio 2.0, each with a full bar (the only row).
	if !strings.Contains(row[1], `style="width: 100%"></span><span>1.0</span>`) || !strings.Contains(row[1], `<span>2.0</span>`) {
		t.Fatalf("CA row: %s", row[1])
	}
	if strings.Contains(body, "<td>NY</td>") {
		t.Fatal("NY has no outliers and must not be explained")
	}
	for _, bad := range []string{
		"IMPORT FROM CSV FILE '/etc/passwd' INTO t(a string);",
		"IMPORT FROM CSV FILE '../../x.csv' INTO t(a string);",
		"IMPORT FROM CSV FILE 'data/sample.csv' INTO sample(usage double, location string);\nSELECT * FROM sample INTO OUTFILE '/tmp/x.csv';",
		"SELEKT nonsense",
	} {
		if code, body := f.get(t, "/runs/"+id+"/explain?sql="+url.QueryEscape(bad)); code != 400 || !strings.Contains(body, `id="error-message"`) {
			t.Errorf("%q: %d", bad, code)
		}
	}
	// A query naming a missing artifact is the query's mistake: 400 naming it.
	if code, body := f.get(t, "/runs/"+id+"/explain?sql="+url.QueryEscape("IMPORT FROM CSV FILE 'nope.csv' INTO t(a string);")); code != 400 || !strings.Contains(body, "nope.csv") {
		t.Errorf("missing artifact: %d", code)
	}
	if code, body := f.get(t, "/runs/"+id+"/explain"); code != 200 || !strings.Contains(body, `id="explain-form"`) {
		t.Errorf("explain form: %d", code)
	}
}
