package funcauth

import (
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"hash"
	"sync"
)

// macHash is a hash function for HMACs, with the index of its pool in a
// key's macPools.
type macHash struct {
	name string
	new  func() hash.Hash
	pool int
}

// The hash functions HMAC schemes use.
var (
	hmacSHA1   = &macHash{name: "sha1", new: sha1.New, pool: 0}
	hmacSHA256 = &macHash{name: "sha256", new: sha256.New, pool: 1}
	hmacSHA512 = &macHash{name: "sha512", new: sha512.New, pool: 2}
)

// macPools keeps a key's HMAC states between requests, one pool per hash
// function. A state taken from the pool starts where hmac.New would leave
// it, without its key setup and its five allocations. Every key of a
// verifier has pools, the decoy key included, so that a function without
// a key costs the same as one whose key does not match. The pools hold
// only states of finished checks; the garbage collector empties them.
type macPools struct {
	pools [3]sync.Pool
}
