package report

import "html/template"

var page = template.Must(template.New("report").Funcs(template.FuncMap{
	"num": num, "pval": pval, "metric": metric, "attrs": attrs,
}).Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<title>{{.Title}}</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222}
h1{font-size:1.4em}h2{font-size:1.15em;margin-top:1.6em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ddd;padding:2px 6px;text-align:left}
th{background:#f4f4f4}.drift{color:#d62728;font-weight:600}.ok{color:#2c7a2c}
.charts{display:flex;flex-wrap:wrap;gap:12px}.chart{border:1px solid #eee;padding:4px}
.chart.drifting{border-color:#d62728}.chart h3{font-size:1em;margin:0}.note{color:#666;font-size:.85em}
.legend span{display:inline-block;width:10px;height:10px;margin:0 4px 0 10px}
</style></head><body>
<h1>{{.Title}}</h1>
<p>{{if .Model}}Model <b>{{.Model}}</b>. {{end}}Reference: {{.Ref.Rows}} rows{{with .Ref.Source}} ({{.}}){{end}}, {{len .Ref.Columns}} columns.
{{len .Labels}} windows; generated {{.Generated}}.{{if .Dropped}} The {{.Dropped}} oldest windows are left out (at most 500 are shown).{{end}}</p>
<h2 id="latest">Latest window: {{.LatestLabel}}</h2>
<p id="verdict" class="{{if .Latest.Drift.DatasetDrift}}drift{{else}}ok{{end}}">{{.Latest.Rows}} rows:
{{if .Latest.Drift.DatasetDrift}}DATASET DRIFT{{else}}no dataset drift{{end}} ({{.Latest.Drift.Drifted}} of {{len .Latest.Drift.Columns}} columns drifted, share {{num .Latest.Drift.Share}}){{if .Latest.Quality.Empty}}; the window is empty{{end}}.</p>
<table id="columns"><thead><tr><th>column</th><th>kind</th><th>test</th><th>statistic</th><th>p-value</th><th>threshold</th><th>drift</th></tr></thead><tbody>
{{range .Latest.Drift.Columns}}<tr><td>{{.Column}}</td><td>{{.Kind}}</td><td>{{.Test}}</td><td>{{num .Statistic}}</td><td>{{pval .PValue}}</td><td>{{num .Threshold}}</td><td{{if .Drift}} class="drift"{{end}}>{{.Drift}}</td></tr>
{{end}}{{with .Latest.Prediction}}<tr><td><i>prediction</i></td><td>{{.Kind}}</td><td>{{.Test}}</td><td>{{num .Statistic}}</td><td>{{pval .PValue}}</td><td>{{num .Threshold}}</td><td{{if .Drift}} class="drift"{{end}}>{{.Drift}}</td></tr>{{end}}
</tbody></table>
{{range .Latest.Drift.Columns}}{{with .Text}}<p class="note">{{$.LatestLabel}}: text column typical now: {{range .TypicalCurrent}}{{.}} {{end}}— before: {{range .TypicalReference}}{{.}} {{end}}</p>{{end}}{{end}}

<h2 id="drift-over-time">Drift over time</h2>
<p class="note">Per column: the p-value (drift below the dashed threshold) or the distance (drift above it) of each window; red points drifted.</p>
<div class="charts">{{range .Drift}}<figure class="chart drift-chart{{if .Drift}} drifting{{end}}"><h3>{{.Title}}</h3>{{.SVG}}<figcaption class="note">{{.Note}}</figcaption></figure>{{end}}</div>

<h2 id="distributions">Reference and current distributions (latest window)</h2>
<p class="legend"><span style="background:#4e79a7"></span>reference<span style="background:#f28e2b"></span>current (shares of non-missing values; drifting columns first)</p>
<div class="charts">{{range .Dists}}<figure class="chart dist-chart{{if .Drift}} drifting{{end}}"><h3>{{.Title}}</h3>{{.SVG}}<figcaption class="note">{{.Note}}</figcaption></figure>{{end}}</div>

<h2 id="performance">Performance</h2>
{{with .Perf}}<p class="legend"><span style="background:#4e79a7"></span>estimated (CBPE, shaded 95% band)<span style="background:#59a14f"></span>realised</p>
<figure class="chart perf-chart">{{.SVG}}</figure>{{else}}<p>No window has an estimated or realised accuracy (the profile needs labels for CBPE's calibration; realised accuracy needs labels in the window).</p>{{end}}

<h2 id="segments">Top segments (latest window)</h2>
{{if .Latest.Segments}}<table id="segments-table"><thead><tr><th>segment</th><th>reason</th><th>support</th><th>risk ratio</th><th>95% interval</th><th>flagged / rows</th></tr></thead><tbody>
{{range .Latest.Segments}}<tr><td>{{attrs .Attributes}}</td><td>{{.Reason}}</td><td>{{num .Support}}</td><td>{{num .RiskRatio}}</td><td>[{{num .RiskLow}}, {{num .RiskHigh}}]</td><td>{{.Flagged}} / {{.Rows}}</td></tr>
{{end}}</tbody></table>{{else}}<p>No segment explains a drift or a rise in errors in the latest window.</p>{{end}}

<h2 id="quality">Data quality (latest window)</h2>
{{with .Latest.Quality.MissingColumns}}<p class="drift">Missing columns: {{range .}}{{.}} {{end}}</p>{{end}}
{{with .Latest.Quality.NewColumns}}<p>New columns: {{range .}}{{.}} {{end}}</p>{{end}}
<table id="quality-table"><thead><tr><th>column</th><th>missing</th><th>reference missing</th><th>new categories</th><th>out of range</th><th>type change</th></tr></thead><tbody>
{{range .Latest.Quality.Columns}}<tr><td>{{.Column}}</td><td>{{num .MissingRate}}</td><td>{{num .RefMissingRate}}</td><td>{{.NewCategoryRow}}{{with .NewCategories}} ({{range .}}{{.}} {{end}}){{end}}</td><td>{{.OutOfRange}}</td><td>{{.TypeChanged}}</td></tr>
{{end}}</tbody></table>

<h2 id="history">Window history (newest first)</h2>
<table id="history-table"><thead><tr><th>window</th><th>rows</th><th>dataset drift</th><th>drifted columns</th><th>estimated accuracy</th><th>realised accuracy</th><th>top segment</th></tr></thead><tbody>
{{range .History}}<tr><td>{{.Label}}</td><td>{{.R.Rows}}</td><td{{if .R.Drift.DatasetDrift}} class="drift"{{end}}>{{.R.Drift.DatasetDrift}}</td><td>{{.R.Drift.Drifted}} / {{len .R.Drift.Columns}}</td><td>{{metric .R.Performance.Estimated}}</td><td>{{metric .R.Performance.Actual}}</td><td>{{with .R.Segments}}{{attrs (index . 0).Attributes}}{{end}}</td></tr>
{{end}}</tbody></table>
</body></html>
`))
