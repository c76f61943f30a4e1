package web

import (
	"strings"
	"testing"
)

func TestMarkdown(t *testing.T) {
	cases := []struct{ in, want string }{
		{"# Title\nsome *text* and **bold**", "<h3>Title</h3>\n<p>some <em>text</em> and <strong>bold</strong></p>\n"},
		{"- a\n- b\n\n1. one\n2. two", "<ul>\n<li>a</li>\n<li>b</li>\n</ul>\n<ol>\n<li>one</li>\n<li>two</li>\n</ol>\n"},
		{"```\n<b>x</b>\n```", "<pre><code>&lt;b&gt;x&lt;/b&gt;\n</code></pre>\n"},
		{"use `a*b*c` here", "<p>use <code>a*b*c</code> here</p>\n"},
		{"[docs](https://x.org/a?b=1&c=2)", `<p><a href="https://x.org/a?b=1&amp;c=2" rel="nofollow noopener noreferrer">docs</a></p>` + "\n"},
		{"[bad](javascript:alert(1))", "<p>[bad](javascript:alert(1))</p>\n"},
		{`<img src=x onerror="alert(1)">`, "<p>&lt;img src=x onerror=&#34;alert(1)&#34;&gt;</p>\n"},
		{"#nospace", "<p>#nospace</p>\n"},
	}
	for _, c := range cases {
		if got := string(Markdown(c.in)); got != c.want {
			t.Errorf("Markdown(%q)\n got %q\nwant %q", c.in, got, c.want)
		}
	}
}

// FuzzMarkdown checks that no input yields a tag outside the renderer's
// own set or an attribute other than a link's.
func FuzzMarkdown(f *testing.F) {
	for _, s := range []string{"# a", "- x\n- *y*", "```\n<x>\n", "[a](https://b)", "**<script>**", "`a`**b**", "\x00a\x00"} {
		f.Add(s)
	}
	allowed := map[string]bool{"p": true, "h3": true, "h4": true, "h5": true, "h6": true, "ul": true, "ol": true, "li": true,
		"pre": true, "code": true, "strong": true, "em": true, "a": true}
	f.Fuzz(func(t *testing.T, s string) {
		out := string(Markdown(s))
		for i := 0; i < len(out); i++ {
			if out[i] != '<' {
				continue
			}
			j := strings.IndexByte(out[i:], '>')
			if j < 0 {
				t.Fatalf("unclosed tag in %q", out)
			}
			tag := strings.TrimPrefix(out[i+1:i+j], "/")
			name, attrs, _ := strings.Cut(tag, " ")
			if !allowed[name] {
				t.Fatalf("tag %q from %q", name, s)
			}
			if attrs != "" && (name != "a" || !strings.HasPrefix(attrs, `href="http`)) {
				t.Fatalf("attributes %q from %q", attrs, s)
			}
			i += j
		}
	})
}
