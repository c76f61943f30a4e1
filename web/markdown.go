package web

import (
	"html"
	"html/template"
	"regexp"
	"strings"
)

// maxMarkdown bounds the text Markdown renders (MLflow's note tag is at
// most 5,000 characters in its UI; a longer one is cut and says so).
const maxMarkdown = 64 << 10

var (
	mdCode   = regexp.MustCompile("`([^`]+)`")
	mdBold   = regexp.MustCompile(`\*\*([^*]+)\*\*`)
	mdItalic = regexp.MustCompile(`\*([^*]+)\*`)
	mdLink   = regexp.MustCompile(`\[([^\]]+)\]\((https?://[^\s)]+)\)`)
	mdOList  = regexp.MustCompile(`^\d+[.)] `)
)

// Markdown renders the subset of Markdown run descriptions use (headings,
// paragraphs, lists, fenced code, inline code, bold, italic and http(s)
// links) as HTML. Safety comes first: the text is HTML-escaped before any
// markup is added, so raw HTML in a description shows as text, and links
// only take http:// or https:// targets.
func Markdown(src string) template.HTML {
	cut := len(src) > maxMarkdown
	if cut {
		src = src[:maxMarkdown]
	}
	var b strings.Builder
	lines := strings.Split(strings.ReplaceAll(src, "\r\n", "\n"), "\n")
	var para []string
	list := "" // "ul", "ol" or ""
	flush := func() {
		if len(para) > 0 {
			b.WriteString("<p>" + inline(strings.Join(para, " ")) + "</p>\n")
			para = nil
		}
		if list != "" {
			b.WriteString("</" + list + ">\n")
			list = ""
		}
	}
	for i := 0; i < len(lines); i++ {
		line := lines[i]
		trim := strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(trim, "```"):
			flush()
			b.WriteString("<pre><code>")
			for i++; i < len(lines) && !strings.HasPrefix(strings.TrimSpace(lines[i]), "```"); i++ {
				b.WriteString(html.EscapeString(lines[i]) + "\n")
			}
			b.WriteString("</code></pre>\n")
		case trim == "":
			flush()
		case strings.HasPrefix(trim, "#"):
			n := len(trim) - len(strings.TrimLeft(trim, "#"))
			if n <= 6 && len(trim) > n && trim[n] == ' ' {
				flush()
				tag := "h" + string(rune('0'+min(n+2, 6))) // page headings are h1/h2
				b.WriteString("<" + tag + ">" + inline(strings.TrimSpace(trim[n:])) + "</" + tag + ">\n")
				continue
			}
			para = append(para, trim)
		case strings.HasPrefix(trim, "- ") || strings.HasPrefix(trim, "* ") || mdOList.MatchString(trim):
			kind, item := "ul", trim[2:]
			if mdOList.MatchString(trim) {
				kind, item = "ol", mdOList.ReplaceAllString(trim, "")
			}
			if len(para) > 0 || (list != "" && list != kind) {
				flush()
			}
			if list == "" {
				list = kind
				b.WriteString("<" + kind + ">\n")
			}
			b.WriteString("<li>" + inline(item) + "</li>\n")
		default:
			if list != "" {
				flush()
			}
			para = append(para, trim)
		}
	}
	flush()
	if cut {
		b.WriteString("<p><em>(description cut at 64 KiB)</em></p>\n")
	}
	return template.HTML(b.String())
}

// inline escapes s, then adds code, bold, italic and link markup. Code
// spans are set aside first so their contents get no other markup.
func inline(s string) string {
	s = html.EscapeString(strings.ReplaceAll(s, "\x00", ""))
	var codes []string
	s = mdCode.ReplaceAllStringFunc(s, func(m string) string {
		codes = append(codes, m[1:len(m)-1])
		return "\x00" + string(rune('a'+len(codes)-1)) + "\x00"
	})
	s = mdLink.ReplaceAllString(s, `<a href="$2" rel="nofollow noopener noreferrer">$1</a>`)
	s = mdBold.ReplaceAllString(s, "<strong>$1</strong>")
	s = mdItalic.ReplaceAllString(s, "<em>$1</em>")
	for i, c := range codes {
		s = strings.Replace(s, "\x00"+string(rune('a'+i))+"\x00", "<code>"+c+"</code>", 1)
	}
	return s
}
