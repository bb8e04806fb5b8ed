package funcauth

// How the request path is written, and why.
//
// Traefik runs this package in Yaegi v0.16.1, where what a request costs
// is the interpreter's work per call, not the bytes it handles (see
// docs/benchmarks.md, "What a request costs under Yaegi"):
//
//   - A call of an interpreted function allocates a frame holding one
//     value for every parameter, variable and temporary of the function,
//     whichever branch runs: a step's rare branches (refusals and their
//     messages) live in functions of their own, off the path of a good
//     request. A value is each field read, operator and call result, and
//     costs its type's size: a struct-valued field in an expression
//     (g.body.small with body a struct) or a composite literal
//     (&checkedRequest{...}) costs a copy of the struct at every call,
//     and so does taking the address of a struct field or of a slice
//     element (&q.decision cost 448 bytes, &k.macs.pools[i] 200): the
//     Guard holds such parts by pointer, slices hold pointers where hot
//     code takes an element, the request, its decision and its body are
//     each made with new, and a rule caches what its usual case needs
//     (rule.oneMAC, rule.oneKey). (Yaegi's frame is also 24 bytes a
//     value.)
//   - The usual signed route, one header MAC with one key, has a path of
//     its own (checkOneMAC) without the bookkeeping of several checks.
//   - A method call on an interpreted type costs three to four times a
//     function call: Yaegi wraps the method in a reflect.MakeFunc at every
//     call (24 allocations against 6, and 1.7 µs against 0.6 µs in one
//     run of BenchmarkYaegiCallKinds in integration/traefik). So the steps of a
//     request are functions that take their receiver first
//     (decide(g, q), checkReplay(c, ...), closeBody(sb)), and the
//     exported methods hosts call (Guard.Check, Decision.Pass) are thin
//     doors onto them. A call through an interface costs as much as a
//     method call: the schemes' common case (a MAC in one header) is
//     reached without one.
//   - A deferred interpreted call is wrapped the same way; a deferred call
//     into the standard library (atomic.AddInt64) is not.
//   - Calls into the standard library cost a few allocations each and no
//     frame: the request's bytes (the body, its MACs and digest) go
//     through standard library calls only.
//   - Correctness, not cost: a select statement is shared state (Yaegi
//     keeps one set of cases per select, for every goroutine running it,
//     so concurrent selects take each other's channels and wake-ups), and
//     a struct type cannot hold a pointer to itself (assigning the field
//     panics). The store client waits on one channel per call, which a
//     timer ends (see redisDo); yaegicheck refuses both. And a comma-ok
//     type assertion of a nil interface value panics instead of giving
//     false: a value that may be nil (sync.Pool.Get) is compared with nil
//     first (see newMACCheck).
//
// integration/traefik's TestInterpretedCallsPerRequest counts the
// interpreted calls of each kind of request and holds them to a budget.
