package funcauth

import (
	"crypto/hmac"
	"hash"
	"strconv"
)

// The usual signed route: one verifier of a header MAC, with one key.
//
// Most signed requests come to a rule like OpenFaaS's /function/* with
// faas-cli's verifier, or a webhook route with GitHub's: one verifier whose
// MAC is in one header, with one inline or environment key. checkOneMAC
// checks them with the steps of checkSignature, in its order and with its
// outcomes, but without its bookkeeping for several verifiers, several
// keys and key files: under Yaegi every value in a function's frame costs
// an allocation at each call, whichever branch runs (see calls.go), and
// that bookkeeping was most of the signature path's values.

// oneHeaderMAC returns the header MAC scheme and the key of a rule that
// checkOneMAC may take: one verifier of a header MAC, whose keys are one
// inline or environment key with pools of HMAC states. It returns nils for
// any other rule, which checkSignature takes.
func oneHeaderMAC(verifiers []*verifier) (*headerMAC, *key) {
	if len(verifiers) != 1 {
		return nil, nil
	}
	v := verifiers[0]
	s, ok := v.scheme.(*headerMAC)
	if !ok || !v.keys.fixed || len(v.keys.static) != 1 || v.keys.static[0].macs == nil {
		return nil, nil
	}
	return s, &v.keys.static[0]
}

// signerLabel is the value of the upstream's signature header for a
// message v verified with the key keyID: "<verifier>/<key id>".
func signerLabel(v *verifier, keyID string) string {
	return v.name + "/" + keyID
}

// checkOneMAC is checkSignature for a rule with oneMAC set. A request
// without a MAC it can take (no header, a repeated one, an unknown prefix,
// an undecodable MAC) goes to checkSignature, which says which refusal it
// is.
func checkOneMAC(g *Guard, q *checkedRequest, rl *rule) *refusal {
	variant, want, no := headerMACOf(rl.oneMAC, q.r.Header)
	if no != nil {
		return checkSignature(g, q, rl)
	}
	q.d.Challenge = g.sigChallenge
	// The body read is an expensive check too: within the failure budget.
	if !q.exempt {
		if no = admitClient(g, q); no != nil {
			return no
		}
	}
	// newMACCheck, inline: the key's HMAC state from its pool, else new.
	v := rl.verifiers[0]
	k := rl.oneKey
	pool := k.macs[variant.hash.pool]
	var m hash.Hash
	if kept := pool.Get(); kept != nil {
		m = kept.(hash.Hash) // (not comma-ok: see newMACCheck)
	} else {
		m = hmac.New(variant.hash.new, k.secret)
	}
	if no = readSignedBody(g, q, m, v.tolerance > 0); no != nil {
		return no
	}
	body := q.d.body
	if body.size == 0 && v.refuseEmptyBody {
		return emptyBody(v) // before the MAC, as in checkSignature
	}
	// finishMAC, inline.
	sum := m.Sum(q.sum[:0])
	m.Reset()
	pool.Put(m)
	if !hmac.Equal(sum, want) {
		return oneMACMismatch(v)
	}
	// signedReplayID, inline: a header MAC signs no prefix.
	return acceptSigned(g, q, v, v.keys.static, k.id, rl.oneLabel, "signed:\x00"+string(body.digest))
}

// oneMACMismatch is checkOneMAC's refusal of a MAC its key does not
// verify: checkSignature's, word for word.
func oneMACMismatch(v *verifier) *refusal {
	return refuse(ReasonBadSignature, v.name+": "+noKeyVerifies(1))
}

// noKeyVerifies is the detail of a MAC that none of n keys verifies.
func noKeyVerifies(n int) string {
	return "no key of " + strconv.Itoa(n) + " verifies the signature"
}
