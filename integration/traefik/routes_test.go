package traefik

import (
	"context"
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
	h := benchMiddleware(t, loaded(t), benchOptions())
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

// TestCachedRouteNamesItsFunctionUnderYaegi: a path's second request takes
// its route from the cache, which must still name the function: a rate
// limit of one request per function a minute refuses the second request
// to a function and lets another function's first through.
func TestCachedRouteNamesItsFunctionUnderYaegi(t *testing.T) {
	options := benchOptions()
	options["rateLimits"] = []interface{}{map[string]interface{}{"name": "fn", "key": "function", "rate": "1/1m"}}
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})
	h, err := loaded(t).NewMiddleware(context.Background(), next, options, "routes@file")
	if err != nil {
		t.Fatal(err)
	}
	signed := benchCases()[0].request
	for _, c := range []struct {
		path string
		want int
	}{{"/function/a", http.StatusOK}, {"/function/a", http.StatusTooManyRequests}, {"/function/b", http.StatusOK}, {"/function/b", http.StatusTooManyRequests}} {
		r := signed(0)
		r.URL.Path = c.path
		serve(t, h, r, c.want)
	}
}
