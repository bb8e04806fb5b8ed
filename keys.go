package funcauth

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// key is one secret (or public key) a verifier may use.
type key struct {
	id     string // names the key in logs and the signature header, never its value
	secret []byte
	alg    string // for keys bound to one algorithm (RFC 9421, Ed25519)
	// scope is the function a per-function key belongs to: its messages
	// are remembered per function, as the same body may be signed for two.
	scope string
	// macs keeps the key's HMAC states between requests; nil for keys
	// that come from files and the decoy key (see macPools).
	macs macPools
}

// keyring is where a verifier's keys come from: inline and environment keys
// fixed at start, key files re-read within seconds of a change, and an
// optional key file per function.
type keyring struct {
	static      []key
	files       []*keyFile
	perFunction *functionKeyFiles
	// fixed says the inline and environment keys are all there is: a
	// check takes static as it is, with nothing to read or stand in for.
	fixed bool
}

// keyFile is a watched key file with its decoded key, decoded again only
// when the content changes.
type keyFile struct {
	id     string
	file   *watchedFile
	format keyFormat

	mu      sync.Mutex
	version uint64
	key     key
	err     error
}

func newKeyFile(path string, format keyFormat) *keyFile {
	return &keyFile{id: filepath.Base(path), file: newWatchedFile(path), format: format}
}

// get returns the current key, or why there is none.
func (k *keyFile) get(now time.Time) (key, error) {
	data, version, err := k.file.read(now)
	k.mu.Lock()
	defer k.mu.Unlock()
	// Only ever move forward: a request that read the file before another
	// may take the lock after it.
	if version > k.version {
		k.version = version
		k.key = key{}
		k.err = err
		if err == nil {
			decoded, err := decodeKey(k.format, data)
			if err != nil {
				k.err = errors.New("key file " + k.file.path + ": " + err.Error())
			} else {
				if decoded.id == "" {
					decoded.id = k.id
				}
				k.key = decoded
			}
		}
	}
	return k.key, k.err
}

// maxFunctionKeyFiles bounds how many per-function key files are remembered;
// the function names come from request paths, which anyone can invent.
const maxFunctionKeyFiles = 4096

// functionKeyFiles picks a key file per function by a path pattern.
type functionKeyFiles struct {
	pattern          string
	defaultNamespace string
	format           keyFormat

	mu    sync.Mutex
	files map[string]*keyFile
}

func (f *functionKeyFiles) forFunction(fn functionRef) *keyFile {
	ns := fn.Namespace
	if ns == "" {
		ns = f.defaultNamespace
	}
	path := strings.ReplaceAll(strings.ReplaceAll(f.pattern, "{function}", fn.Name), "{namespace}", ns)
	f.mu.Lock()
	defer f.mu.Unlock()
	if kf, ok := f.files[path]; ok {
		return kf
	}
	if len(f.files) >= maxFunctionKeyFiles {
		for p := range f.files {
			delete(f.files, p)
			break
		}
	}
	kf := newKeyFile(path, f.format)
	f.files[path] = kf
	return kf
}

// keysFor returns the keys that may verify a request for fn (hasFn false
// when the path names no function), or why there are none. A key file
// that is missing or empty contributes no key: it fails closed.
func (k *keyring) keysFor(fn functionRef, hasFn bool, now time.Time) ([]key, string) {
	if k.fixed {
		return k.static, ""
	}
	keys := make([]key, 0, len(k.static)+len(k.files)+1)
	keys = append(keys, k.static...)
	var problem string
	for _, kf := range k.files {
		fileKey, err := kf.get(now)
		if err != nil {
			problem = err.Error()
			continue
		}
		keys = append(keys, fileKey)
	}
	if k.perFunction != nil {
		if !hasFn {
			if problem == "" {
				problem = "the path names no function, so no per-function key applies"
			}
		} else {
			kf := k.perFunction.forFunction(fn)
			if fnKey, err := kf.get(now); err != nil {
				problem = err.Error()
			} else {
				ns := fn.Namespace
				if ns == "" {
					ns = k.perFunction.defaultNamespace
				}
				fnKey.scope = fn.Name + "." + ns
				keys = append(keys, fnKey)
			}
		}
	}
	return keys, problem
}

// newKeyring builds the keys of signatures[i], refusing empty secrets,
// unset environment variables and unreadable files by field.
func newKeyring(cfg *Signature, field string, format keyFormat, lookupEnv func(string) (string, bool), now time.Time) (*keyring, error) {
	k := &keyring{}
	for i, s := range cfg.Keys {
		f := field + ".keys[" + strconv.Itoa(i) + "]"
		if strings.TrimSpace(s) == "" {
			return nil, fieldError(f, "is empty: a signature key must not be empty")
		}
		decoded, err := decodeKey(format, []byte(s))
		if err != nil {
			return nil, fieldError(f, err.Error())
		}
		if decoded.id == "" {
			decoded.id = "keys[" + strconv.Itoa(i) + "]"
		}
		decoded.macs = newMACPools()
		k.static = append(k.static, decoded)
	}
	for i, name := range cfg.KeyEnv {
		f := field + ".key_env[" + strconv.Itoa(i) + "]"
		value, ok := lookupEnv(name)
		if !ok {
			return nil, fieldError(f, "environment variable "+name+" is not set")
		}
		if strings.TrimSpace(value) == "" {
			return nil, fieldError(f, "environment variable "+name+" is empty")
		}
		decoded, err := decodeKey(format, []byte(strings.TrimSpace(value)))
		if err != nil {
			return nil, fieldError(f, "environment variable "+name+": "+err.Error())
		}
		if decoded.id == "" {
			decoded.id = "env:" + name
		}
		decoded.macs = newMACPools()
		k.static = append(k.static, decoded)
	}
	for i, path := range cfg.KeyFiles {
		f := field + ".key_files[" + strconv.Itoa(i) + "]"
		if path == "" {
			return nil, fieldError(f, "is empty")
		}
		kf := newKeyFile(path, format)
		if _, err := kf.get(now); err != nil {
			return nil, fieldError(f, err.Error())
		}
		k.files = append(k.files, kf)
	}
	if p := cfg.FunctionKeyFile; p != "" {
		f := field + ".function_key_file"
		if !strings.Contains(p, "{function}") {
			return nil, fieldError(f, "must contain {function}, such as /var/openfaas/secrets/{function}-hmac")
		}
		if dir := filepath.Dir(p); !strings.Contains(dir, "{") {
			if info, err := os.Stat(dir); err != nil || !info.IsDir() {
				return nil, fieldError(f, "directory "+dir+" does not exist")
			}
		}
		ns := cfg.DefaultNamespace
		if ns == "" {
			ns = defaultFunctionNamespace
		}
		if !validNamePart(ns) {
			return nil, fieldError(field+".default_namespace", "is not a valid namespace name")
		}
		k.perFunction = &functionKeyFiles{pattern: p, defaultNamespace: ns, format: format, files: make(map[string]*keyFile)}
	} else if cfg.DefaultNamespace != "" {
		return nil, fieldError(field+".default_namespace", "is only used with function_key_file")
	}
	if len(k.static) == 0 && len(k.files) == 0 && k.perFunction == nil {
		return nil, fieldError(field, "has no keys: set keys, key_files, key_env or function_key_file")
	}
	k.fixed = len(k.files) == 0 && k.perFunction == nil
	return k, nil
}

// replaySlots is how many shares of its verifier's replay memory the
// keyring's keys divide: one per inline, environment and key-file key, and
// two for the per-function keys, so that the key of one function fills at
// most half of what is left to them.
func (k *keyring) replaySlots() int {
	n := len(k.static) + len(k.files)
	if k.perFunction != nil {
		n += 2
	}
	if n < 1 {
		n = 1
	}
	return n
}
