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

// macHashes lists the hash functions above in the order of their pools.
var macHashes = []*macHash{hmacSHA1, hmacSHA256, hmacSHA512}

// macPools keeps a key's HMAC states between requests, one pool per hash
// function. A state taken from the pool starts where hmac.New would leave
// it, without its key setup and its five allocations. The pools hold only
// states of finished checks; the garbage collector empties them.
//
// Only inline and environment keys have pools: every request of their
// verifier uses them, so whether a pool is warm tells nothing. Keys from
// files (a function's own key above all) and the decoy key that stands in
// for a missing one have none: a function's key used rarely would find
// its pool emptied and pay hmac.New, while the decoy, shared by every
// function without a key, would stay warm, and the difference would tell
// which functions have keys. Without pools both pay hmac.New alike.
type macPools []*sync.Pool

// newMACPools returns a key's empty pools, one per hash function.
func newMACPools() macPools {
	p := make(macPools, len(macHashes))
	for i := range p {
		p[i] = new(sync.Pool)
	}
	return p
}
