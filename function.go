package funcauth

import "strings"

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

// functionFromPath extracts the function a path addresses. ok is false when
// the path is not a function route or the name is not a valid function name.
func functionFromPath(path string) (functionRef, bool) {
	var rest string
	switch {
	case strings.HasPrefix(path, "/function/"):
		rest = path[len("/function/"):]
	case strings.HasPrefix(path, "/async-function/"):
		rest = path[len("/async-function/"):]
	default:
		return functionRef{}, false
	}
	if slash := strings.IndexByte(rest, '/'); slash >= 0 {
		rest = rest[:slash]
	}
	var ref functionRef
	if dot := strings.IndexByte(rest, '.'); dot >= 0 {
		ref.Name, ref.Namespace = rest[:dot], rest[dot+1:]
		if !validNamePart(ref.Namespace) {
			return functionRef{}, false
		}
	} else {
		ref.Name = rest
	}
	if !validNamePart(ref.Name) {
		return functionRef{}, false
	}
	return ref, true
}

// nameChars are the characters OpenFaaS allows in function and namespace
// names, minus the dot that separates them.
const nameChars = "-_0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"

// validNamePart accepts a function or namespace name: never "." or "..",
// never a path separator.
func validNamePart(s string) bool {
	return s != "" && len(s) <= 253 && strings.Trim(s, nameChars) == ""
}
