// Package cfgcopy copies a funcauth configuration, for the tools that
// rewrite some of its fields (Caddy's placeholders, funcauth check's
// stand-ins) and must leave their caller's configuration as it was.
package cfgcopy

import (
	"encoding/json"

	"github.com/funcauth/funcauth"
)

// Copy returns a deep copy of cfg. It copies through the JSON form, which
// holds every option but the unknown ones (UnknownOptions are json:"-"): a
// configuration with any, which funcauth.New refuses before looking at
// anything else, is returned as it is.
func Copy(cfg *funcauth.Config) (*funcauth.Config, error) {
	if funcauth.UnknownOption(cfg) != "" {
		return cfg, nil
	}
	data, err := json.Marshal(cfg)
	if err != nil {
		return nil, err
	}
	cp := &funcauth.Config{}
	if err := json.Unmarshal(data, cp); err != nil {
		return nil, err
	}
	return cp, nil
}
