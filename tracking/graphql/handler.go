package graphql

import (
	"bytes"
	"cmp"
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"net/http"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/dawn-ml/dawn/internal/httpx"
	"github.com/dawn-ml/dawn/tracking"
	gql "github.com/graph-gophers/graphql-go"
	gqlerrors "github.com/graph-gophers/graphql-go/errors"
)

//go:embed schema.graphql
var schemaSDL string

// Bounds of one request beyond MLflow's (see docs/limits.md).
const (
	// MaxRequestBytes bounds the request body, as for every REST call.
	MaxRequestBytes = tracking.MaxRequestBytes
	// DefaultMaxRESTCalls bounds the reads one request makes: a root field
	// is one, and so is each run's experiment (once per experiment) and
	// each run's model versions.
	DefaultMaxRESTCalls = 10000
	// MaxExpandedSelections bounds the fields an operation expands to once
	// fragment spreads are resolved (the library's MaxSelections): the
	// document itself holds at most MaxSelections, but fragments that
	// spread each other can multiply them.
	MaxExpandedSelections = 10000
	// maxParallel is how many resolvers of one request run at once.
	maxParallel = 10
)

// Options configures NewHandler.
type Options struct {
	// API is the tracking REST API (tracking.NewHandler) the resolvers read
	// through; requests reach it with the GraphQL request's context, so its
	// Authorizer sees the signed-in user.
	API http.Handler
	// MaxRootFields and MaxAliases are MLflow's
	// MLFLOW_SERVER_GRAPHQL_MAX_ROOT_FIELDS and _MAX_ALIASES; 0 means the
	// default, 10.
	MaxRootFields, MaxAliases int
	// Timeout bounds one request; 0 means tracking.DefaultRequestTimeout.
	Timeout time.Duration
	// MaxRESTCalls bounds the REST calls of one request; 0 means
	// DefaultMaxRESTCalls.
	MaxRESTCalls int64
	Logger       *slog.Logger
}

// Handler serves MLflow's GraphQL endpoint.
type Handler struct {
	o      Options
	schema *gql.Schema
}

// NewHandler returns the /graphql handler: MLflow's schema (its Query and
// Mutation fields) over the REST API in o.API.
func NewHandler(o Options) (*Handler, error) {
	if o.API == nil {
		return nil, errors.New("graphql: Options.API is nil")
	}
	if o.MaxRootFields <= 0 {
		o.MaxRootFields = DefaultMaxRootFields
	}
	if o.MaxAliases <= 0 {
		o.MaxAliases = DefaultMaxAliases
	}
	if o.MaxRESTCalls <= 0 {
		o.MaxRESTCalls = DefaultMaxRESTCalls
	}
	if o.Timeout == 0 {
		o.Timeout = tracking.DefaultRequestTimeout
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	s, err := gql.ParseSchema(schemaSDL, &resolver{}, gql.UseFieldResolvers(), gql.MaxParallelism(maxParallel),
		gql.MaxSelections(MaxExpandedSelections), gql.Logger(panicLogger{o.Logger}))
	if err != nil {
		return nil, fmt.Errorf("graphql: parse schema: %w", err)
	}
	return &Handler{o: o, schema: s}, nil
}

// request is the body of a GraphQL request.
type request struct {
	Query         *string        `json:"query"`
	OperationName *string        `json:"operationName"`
	Variables     map[string]any `json:"variables"`
}

// response is MLflow's answer: data, and the errors' messages (a list of
// strings, not GraphQL's error objects), null when there are none.
type response struct {
	Data   json.RawMessage `json:"data"`
	Errors []string        `json:"errors"`
}

func badRequest(format string, args ...any) error {
	return httpx.Errorf(http.StatusBadRequest, tracking.CodeInvalidParameterValue, format, args...)
}

// decode reads a request: a JSON body (POST, and GET as MLflow reads it),
// or for a bodiless GET the query, operationName and variables parameters.
func decode(w http.ResponseWriter, r *http.Request) (request, error) {
	var req request
	body, err := tracking.ReadBody(w, r)
	if err != nil {
		return req, err
	}
	if r.Method == http.MethodGet && len(bytes.TrimSpace(body)) == 0 {
		q := r.URL.Query()
		if !q.Has("query") {
			return req, badRequest("Missing value for required parameter 'query'.")
		}
		req.Query = new(string)
		*req.Query = q.Get("query")
		if q.Has("operationName") {
			req.OperationName = new(string)
			*req.OperationName = q.Get("operationName")
		}
		if v := q.Get("variables"); v != "" {
			if err := json.Unmarshal([]byte(v), &req.Variables); err != nil {
				return req, badRequest("Invalid value for parameter 'variables': it must be a JSON object: %v", err)
			}
		}
		return req, nil
	}
	if r.Method == http.MethodPost {
		ct := r.Header.Get("Content-Type")
		if ct == "" {
			return req, badRequest("Bad Request. Content-Type header is missing.")
		}
		if mt, _, _ := mime.ParseMediaType(ct); mt != "application/json" {
			return req, badRequest("Bad Request. Content-Type must be one of ['application/json'].")
		}
	}
	if err := tracking.ValidateNoNUL(body); err != nil {
		return req, err
	}
	if err := json.Unmarshal(body, &req); err != nil {
		return req, badRequest("Malformed GraphQL request: the body must be a JSON object with a string 'query', an optional string 'operationName' and an optional object 'variables': %v", err)
	}
	if req.Query == nil {
		return req, badRequest("Missing value for required parameter 'query'.")
	}
	return req, nil
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	req, err := decode(w, r)
	if err != nil {
		httpx.WriteError(w, err)
		return
	}
	if msg := h.check(*req.Query); msg != "" {
		httpx.WriteJSON(w, http.StatusOK, response{Errors: []string{msg}})
		return
	}
	ctx := r.Context()
	if h.o.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, h.o.Timeout)
		defer cancel()
	}
	st := &state{rest: rest{api: h.o.API, calls: new(atomic.Int64), budget: h.o.MaxRESTCalls}, exps: map[string]*expResult{}}
	ctx = context.WithValue(ctx, stateKey{}, st)
	op := ""
	if req.OperationName != nil {
		op = *req.OperationName
	}
	res := h.schema.Exec(ctx, *req.Query, op, req.Variables)
	out := response{Data: res.Data}
	if len(out.Data) == 0 {
		out.Data = json.RawMessage("null")
	}
	// Resolvers run in parallel; report errors in document order, as
	// MLflow's one-at-a-time execution does.
	roots := rootOrder(res.Data)
	slices.SortStableFunc(res.Errors, func(a, b *gqlerrors.QueryError) int {
		return comparePaths(roots, a.Path, b.Path)
	})
	for _, e := range res.Errors {
		out.Errors = append(out.Errors, e.Message)
		var ae *apiError
		if e.ResolverError != nil && (!errors.As(e.ResolverError, &ae) || ae.status >= 500) && !errors.Is(e.ResolverError, errBudget) {
			h.o.Logger.Error("graphql resolver failed", "path", fmt.Sprint(e.Path), "err", e.ResolverError)
		}
	}
	httpx.WriteJSON(w, http.StatusOK, out)
}

// check applies MLflow's bounds to a document; it returns the message of
// the first one passed, or "".
func (h *Handler) check(doc string) string {
	info, err := scan(doc)
	var le *limitError
	if errors.As(err, &le) {
		return le.msg
	}
	env := "MLFLOW_SERVER_GRAPHQL_MAX_ROOT_FIELDS"
	what, limit, got := "root fields", h.o.MaxRootFields, info.rootFields
	if got <= limit {
		env, what, limit, got = "MLFLOW_SERVER_GRAPHQL_MAX_ALIASES", "aliases", h.o.MaxAliases, info.maxAliases
		if got <= limit {
			return ""
		}
	}
	return fmt.Sprintf("GraphQL queries should have at most %d %s, got %d %s. To increase the limit, set the %s environment variable.", limit, what, got, what, env)
}

// rootOrder maps each top-level key of data to its place: the library
// writes the fields in document order.
func rootOrder(data json.RawMessage) map[string]int {
	order := map[string]int{}
	dec := json.NewDecoder(bytes.NewReader(data))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return order
	}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return order
		}
		if k, ok := t.(string); ok {
			order[k] = len(order)
		}
		var skip json.RawMessage
		if dec.Decode(&skip) != nil {
			return order
		}
	}
	return order
}

// comparePaths orders two error paths: by the root field's place, then
// element by element (list indexes as numbers).
func comparePaths(roots map[string]int, a, b []any) int {
	if len(a) > 0 && len(b) > 0 {
		ra, oka := a[0].(string)
		rb, okb := b[0].(string)
		if oka && okb {
			if c := cmp.Compare(roots[ra], roots[rb]); c != 0 {
				return c
			}
		}
	}
	for i := 0; i < len(a) && i < len(b); i++ {
		x, y := fmt.Sprint(a[i]), fmt.Sprint(b[i])
		xi, xerr := strconv.Atoi(x)
		yi, yerr := strconv.Atoi(y)
		c := strings.Compare(x, y)
		if xerr == nil && yerr == nil {
			c = cmp.Compare(xi, yi)
		}
		if c != 0 {
			return c
		}
	}
	return cmp.Compare(len(a), len(b))
}

// panicLogger logs a resolver's panic (which the library turns into an
// error for the client) with the server's logger.
type panicLogger struct{ log *slog.Logger }

func (l panicLogger) LogPanic(ctx context.Context, value any) {
	l.log.ErrorContext(ctx, "graphql resolver panicked", "panic", fmt.Sprint(value), "stack", strings.TrimSpace(string(debug.Stack())))
}
