package sign

import (
	"errors"
	"net/http"
)

// extraHeaders signs with the webhook providers' schemes.
func extraHeaders(scheme, key string, opts Options, msg Message) (http.Header, error) {
	return nil, errors.New("unknown scheme " + scheme)
}
