// Package web is dawn's console: server-rendered pages (html/template) over
// the tracking store, served by `dawn server` at / beside the MLflow REST
// API. Experiments, runs tables with server-side paging, sorting and MLflow
// search-syntax filters, run pages with artifact previews, metric charts
// downsampled on the server (LTTB), run comparison and the model registry.
//
// Pages read the tracking.Store in-process (no HTTP round trip) and render
// complete HTML, so every table works with JavaScript disabled; the small
// scripts under static/ draw charts (uPlot, ECharts) and add conveniences.
// The front-end libraries are vendored from npm under static/vendor and
// embedded, so building dawn needs no node.
//
// Every route has an explicit permission rule (see routes in web.go), every
// state change is a POST checked by net/http's CrossOriginProtection, and
// with an Authorizer the edit controls are rendered only for users allowed
// to use them.
package web
