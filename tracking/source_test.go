package tracking

import "testing"

// Expected values are Python 3.11's urllib.parse.urlparse and unquote_plus.
func TestPyURLParse(t *testing.T) {
	for _, tc := range []struct{ in, scheme, netloc, path string }{
		{"mlflow-artifacts://host:9000/models/x", "mlflow-artifacts", "host:9000", "/models/x"},
		{"mlflow-artifacts:/1/abc/artifacts", "mlflow-artifacts", "", "/1/abc/artifacts"},
		{"/tmp/x", "", "", "/tmp/x"},
		{"file:///tmp/x?q=1#f", "file", "", "/tmp/x"},
		{"http://h/a/b;p?q", "http", "h", "/a/b"},
		{"s3://b/a;p", "s3", "b", "/a;p"},
		{"HTTP://Host/X", "http", "Host", "/X"},
		{"1abc:/x", "", "", "1abc:/x"},
		{"runs:/id/model", "runs", "", "/id/model"},
		{"  \thttps://h/p", "https", "h", "/p"},
	} {
		s, n, p := pyURLParse(tc.in)
		if s != tc.scheme || n != tc.netloc || p != tc.path {
			t.Errorf("pyURLParse(%q) = %q, %q, %q; want %q, %q, %q", tc.in, s, n, p, tc.scheme, tc.netloc, tc.path)
		}
	}
	for _, tc := range []struct{ in, want string }{
		{"a+b%2Fc", "a b/c"}, {"%zz%4", "%zz%4"}, {"%252f", "%2f"}, {"%00", "\x00"},
	} {
		if got := unquotePlus(tc.in); got != tc.want {
			t.Errorf("unquotePlus(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	for _, tc := range []struct{ in, want string }{
		{"user:pw@Host.X:80", "host.x"}, {"[::1]:80", "::1"}, {"", ""},
	} {
		if got := hostname(tc.in); got != tc.want {
			t.Errorf("hostname(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func FuzzNonLocalSource(f *testing.F) {
	for _, s := range []string{"mlflow-artifacts://h:1/a/../b", "http://h/%2e%2e/x", "s3://b", "file:///x", "%", "a:b;c/d;e"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		_ = nonLocalSourceOK(s)
		_, _ = isLocalURI(s)
		_ = localURIToPath(s)
	})
}
