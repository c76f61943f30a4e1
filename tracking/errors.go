package tracking

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/dawn-ml/dawn/internal/httpx"
)

// MLflow's error codes that dawn returns.
const (
	CodeInvalidParameterValue = "INVALID_PARAMETER_VALUE"
	CodeResourceDoesNotExist  = "RESOURCE_DOES_NOT_EXIST"
	CodeResourceAlreadyExists = "RESOURCE_ALREADY_EXISTS"
	CodeInternalError         = "INTERNAL_ERROR"
	CodeBadRequest            = "BAD_REQUEST"
	CodeEndpointNotFound      = "ENDPOINT_NOT_FOUND"
	CodeInvalidState          = "INVALID_STATE"
	CodePermissionDenied      = "PERMISSION_DENIED"
	CodeUnauthenticated       = "UNAUTHENTICATED"
	CodeRequestLimitExceeded  = "REQUEST_LIMIT_EXCEEDED"
	CodeMethodNotAllowed      = "METHOD_NOT_ALLOWED"
)

// Sentinels to test with errors.Is; every *httpx.Error made here by code
// matches the sentinel of its code.
var (
	ErrNotFound      = errors.New("tracking: not found")
	ErrAlreadyExists = errors.New("tracking: already exists")
	ErrInvalid       = errors.New("tracking: invalid parameter")
)

func codeErr(status int, code string, sentinel error, format string, args ...any) error {
	return &httpx.Error{Status: status, Code: code, Message: fmt.Sprintf(format, args...), Err: sentinel}
}

// NotFoundf is RESOURCE_DOES_NOT_EXIST, HTTP 404.
func NotFoundf(format string, args ...any) error {
	return codeErr(http.StatusNotFound, CodeResourceDoesNotExist, ErrNotFound, format, args...)
}

// AlreadyExistsf is RESOURCE_ALREADY_EXISTS, HTTP 400 (MLflow does not use 409).
func AlreadyExistsf(format string, args ...any) error {
	return codeErr(http.StatusBadRequest, CodeResourceAlreadyExists, ErrAlreadyExists, format, args...)
}

// InvalidParameterf is INVALID_PARAMETER_VALUE, HTTP 400.
func InvalidParameterf(format string, args ...any) error {
	return codeErr(http.StatusBadRequest, CodeInvalidParameterValue, ErrInvalid, format, args...)
}

// Error is the error type the handlers and the client use: an HTTP status,
// MLflow's error_code and a message.
type Error = httpx.Error
