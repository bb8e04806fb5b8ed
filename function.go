package funcauth

import (
	"errors"
	"strconv"
	"strings"
)

// defaultFunctionNamespace is OpenFaaS's namespace for functions, the one
// a path without ".<namespace>" means.
const defaultFunctionNamespace = "openfaas-fn"

// functionRef is the function a request addresses through the OpenFaaS
// gateway's routes /function/<name>[.<namespace>][/...] and
// /async-function/<name>[.<namespace>][/...].
type functionRef struct {
	Name      string
	Namespace string // empty when the path names none
}

// functionRoute extracts the function a path addresses, and the sub-path
// after the function's segment: "" for none, else starting with "/". ok is
// false when the path is not a function route or the name is not a valid
// function name.
func functionRoute(path string) (functionRef, string, bool) {
	var rest string
	switch {
	case strings.HasPrefix(path, "/function/"):
		rest = path[len("/function/"):]
	case strings.HasPrefix(path, "/async-function/"):
		rest = path[len("/async-function/"):]
	default:
		return functionRef{}, "", false
	}
	sub := ""
	if slash := strings.IndexByte(rest, '/'); slash >= 0 {
		rest, sub = rest[:slash], rest[slash:]
	}
	var ref functionRef
	if dot := strings.IndexByte(rest, '.'); dot >= 0 {
		ref.Name, ref.Namespace = rest[:dot], rest[dot+1:]
		// validNamePart, without the call (see checkedRequest).
		if ref.Namespace == "" || len(ref.Namespace) > 253 || strings.Trim(ref.Namespace, nameChars) != "" {
			return functionRef{}, "", false
		}
	} else {
		ref.Name = rest
	}
	if ref.Name == "" || len(ref.Name) > 253 || strings.Trim(ref.Name, nameChars) != "" {
		return functionRef{}, "", false
	}
	return ref, sub, true
}

// functionPattern matches the functions a rule path under /function/ or
// /async-function/ names, by whatever route the gateway takes to them:
// sync or async, with the default namespace written or not, with any
// sub-path unless the rule path names one.
type functionPattern struct {
	// segment is the rule's function segment, "<name>[.<namespace>]" with
	// "*" wildcards. It matches a function when it matches "name.namespace"
	// (the namespace filled in when the path leaves it out) or, for a
	// function of the default namespace, "name".
	segment string
	// any says the pattern matches every function and sub-path ("/function/*").
	any bool
	// sub matches the sub-path after the function ("" for none); nil
	// when the rule path ends at the function or with "/*": every sub-path
	// and none.
	sub *pathPattern
}

// compileFunctionPattern compiles the part of a rule path after
// "/function/" or "/async-function/". It returns nil when the path names
// no function segment ("/function/").
func compileFunctionPattern(path, rest string) (*functionPattern, error) {
	segment, sub := rest, ""
	if slash := strings.IndexByte(rest, '/'); slash >= 0 {
		segment, sub = rest[:slash], rest[slash:]
	}
	if segment == "" {
		return nil, nil
	}
	parts := strings.Split(segment, ".")
	valid := len(parts) <= 2 && strings.Trim(segment, nameChars+".*") == ""
	for _, part := range parts {
		valid = valid && part != ""
	}
	if !valid {
		return nil, errors.New("path " + strconv.Quote(path) + ": the segment after the route must be a function, <name> or <name>.<namespace> (letters, digits, - and _), with * as a wildcard")
	}
	f := &functionPattern{segment: segment}
	if sub != "" && sub != "/*" {
		p, err := compilePathPattern(sub)
		if err != nil {
			return nil, err
		}
		f.sub = p
	}
	f.any = segment == "*" && f.sub == nil
	return f, nil
}

// match reports whether the pattern names the function of a request
// path with that function and sub-path.
func (f *functionPattern) match(ref functionRef, sub string) bool {
	ns := ref.Namespace
	if ns == "" {
		ns = defaultFunctionNamespace
	}
	if !matchSegment(f.segment, ref.Name+"."+ns) &&
		!(ns == defaultFunctionNamespace && matchSegment(f.segment, ref.Name)) {
		return false
	}
	return f.sub == nil || f.sub.match(sub)
}

// nameChars are the characters OpenFaaS allows in function and namespace
// names, minus the dot that separates them.
const nameChars = "-_0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"

// validNamePart accepts a function or namespace name: never "." or "..",
// never a path separator.
func validNamePart(s string) bool {
	return s != "" && len(s) <= 253 && strings.Trim(s, nameChars) == ""
}
