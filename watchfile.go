package funcauth

import (
	"bytes"
	"errors"
	"io"
	"os"
	"sync"
	"time"
)

// fileRecheckInterval is how long a file's content is trusted before it is
// read again, so a rotated key or password is picked up without a restart.
const fileRecheckInterval = 2 * time.Second

// maxSecretFileSize bounds what is read from a key, password or htpasswd file.
const maxSecretFileSize = 1 << 20

// watchedFile is a small file re-read at most every fileRecheckInterval, on
// demand: no goroutine watches it, so nothing outlives its configuration.
type watchedFile struct {
	path string

	mu        sync.Mutex
	checkedAt time.Time // when the content was last read
	checkAt   time.Time // when the content must be read again
	data      []byte    // trimmed content; nil with err
	err       error
	version   uint64 // incremented whenever data or err changes
}

func newWatchedFile(path string) *watchedFile {
	return &watchedFile{path: path}
}

// read returns the file's trimmed content as of at most
// fileRecheckInterval ago and a version that changes whenever the content
// does. A missing, unreadable, oversized or empty file is an error. The
// returned slice must not be modified.
func (f *watchedFile) read(now time.Time) ([]byte, uint64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	// A clock that went back past the last read (a host's clock stepped, or
	// a caller with a different clock) also forces a read: the interval is
	// measured on the caller's clock only.
	if f.version != 0 && now.Before(f.checkAt) && !now.Before(f.checkedAt) {
		return f.data, f.version, f.err
	}
	data, err := readSecretFile(f.path)
	if f.version == 0 || !bytes.Equal(data, f.data) || !sameError(err, f.err) {
		f.data, f.err = data, err
		f.version++
	}
	f.checkedAt = now
	f.checkAt = now.Add(fileRecheckInterval)
	return f.data, f.version, f.err
}

func sameError(a, b error) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Error() == b.Error()
}

// readSecretFile reads a small file and trims surrounding white space, as
// the OpenFaaS gateway does with its secret files.
func readSecretFile(path string) ([]byte, error) {
	file, err := os.Open(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, errors.New("file " + path + " does not exist")
		}
		return nil, errors.New("file " + path + " cannot be read: check its permissions")
	}
	defer file.Close()
	data, err := io.ReadAll(io.LimitReader(file, maxSecretFileSize+1))
	if err != nil {
		return nil, errors.New("file " + path + " cannot be read")
	}
	if len(data) > maxSecretFileSize {
		return nil, errors.New("file " + path + " is larger than 1 MiB")
	}
	data = bytes.TrimSpace(data)
	if len(data) == 0 {
		return nil, errors.New("file " + path + " is empty")
	}
	return data, nil
}
