package traefik

import (
	"testing"

	"github.com/traefik/yaegi/interp"
	"github.com/traefik/yaegi/stdlib"
)

// callKindsSource calls one small function n times in each of the ways
// interpreted code can call it: as a function, as a method, through an
// interface, through a function value, and after a type assertion. The
// core's request path is written to the results (see calls.go there).
const callKindsSource = `package kinds

type T struct{ a int }

func (t *T) method(x int) int { return t.a + x }

func function(t *T, x int) int { return t.a + x }

type I interface{ method(x int) int }

func Function(n int) int {
	t, s := &T{a: 1}, 0
	for i := 0; i < n; i++ {
		s += function(t, i)
	}
	return s
}

func Method(n int) int {
	t, s := &T{a: 1}, 0
	for i := 0; i < n; i++ {
		s += t.method(i)
	}
	return s
}

func Interface(n int) int {
	var t I = &T{a: 1}
	s := 0
	for i := 0; i < n; i++ {
		s += t.method(i)
	}
	return s
}

func FuncValue(n int) int {
	t, s := &T{a: 1}, 0
	f := function
	for i := 0; i < n; i++ {
		s += f(t, i)
	}
	return s
}

func AssertThenFunction(n int) int {
	var t I = &T{a: 1}
	s := 0
	for i := 0; i < n; i++ {
		if tt, ok := t.(*T); ok {
			s += function(tt, i)
		}
	}
	return s
}
`

// BenchmarkYaegiCallKinds measures what one call costs under Yaegi v0.16.1
// (the interpreter Traefik runs plugins in) by the way it is made: a
// method call, or one through an interface, costs about four times a
// function call, because Yaegi wraps the method in a reflect.MakeFunc at
// every call. This is why the core's request path is written as
// functions (calls.go there).
func BenchmarkYaegiCallKinds(b *testing.B) {
	i := interp.New(interp.Options{})
	if err := i.Use(stdlib.Symbols); err != nil {
		b.Fatal(err)
	}
	if _, err := i.Eval(callKindsSource); err != nil {
		b.Fatal(err)
	}
	for _, name := range []string{"Function", "Method", "Interface", "FuncValue", "AssertThenFunction"} {
		v, err := i.Eval("kinds." + name)
		if err != nil {
			b.Fatal(err)
		}
		f := v.Interface().(func(int) int)
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			f(b.N)
		})
	}
}
