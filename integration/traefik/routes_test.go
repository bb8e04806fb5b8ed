package traefik

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
)

// TestRouteCacheStartsOverUnderYaegi sends more distinct paths than the
// core's route cache holds (routeCacheSize, 1024) through the interpreted
// plugin: the cache starts over (a sync.Map ranged over with an
// interpreted function) and every request is still decided by its rule.
func TestRouteCacheStartsOverUnderYaegi(t *testing.T) {
	h := benchMiddleware(t, loaded(t))
	for i := 0; i < 2500; i++ {
		r := httptest.NewRequest("GET", "/system/p"+strconv.Itoa(i), nil)
		r.SetBasicAuth("admin", benchPassword)
		serve(t, h, r, http.StatusOK)
		if i%500 == 0 {
			serve(t, h, httptest.NewRequest("GET", "/system/p"+strconv.Itoa(i), nil), http.StatusUnauthorized)
			serve(t, h, httptest.NewRequest("POST", "/function/env", nil), http.StatusUnauthorized)
		}
	}
}
