package cli

import (
	"reflect"
	"strings"
	"testing"

	"github.com/funcauth/funcauth"
	"github.com/funcauth/funcauth/internal/configwalk"
)

// readAsGiven are the file options check reads as they are (checkHelp
// says so), rather than standing in a temporary file.
var readAsGiven = map[string]bool{
	"store.tls.ca_file":   true,
	"store.tls.cert_file": true,
	"store.tls.key_file":  true,
}

// TestCheckStandsInEveryFile walks the Config: every option naming a file
// or directory (*_file, *_files, *_dir) gets a stand-in from standInFiles,
// so that check needs none of the proxy's files, unless readAsGiven lists
// it.
func TestCheckStandsInEveryFile(t *testing.T) {
	options, _ := configwalk.Walk(reflect.TypeOf(funcauth.Config{}))
	seen := map[string]bool{}
	for _, o := range options {
		if !strings.HasSuffix(o.Name, "_file") && !strings.HasSuffix(o.Name, "_files") && !strings.HasSuffix(o.Name, "_dir") {
			continue
		}
		seen[o.JSON] = true
		const given = "/funcauth-walk/{function}"
		var cfg funcauth.Config
		v := o.Set(&cfg)
		if v.Kind() == reflect.Slice {
			v.Set(reflect.ValueOf([]string{given}))
		} else {
			v.SetString(given)
		}
		if err := standInFiles(&cfg, t.TempDir()); err != nil {
			t.Fatalf("%s: %v", o.JSON, err)
		}
		v, _ = o.Get(&cfg)
		if v.Kind() == reflect.Slice {
			v = v.Index(0)
		}
		switch kept := v.String() == given; {
		case kept && !readAsGiven[o.JSON]:
			t.Errorf("%s: check reads it as given; stand in a temporary one in standInFiles, or list it in readAsGiven and checkHelp", o.JSON)
		case !kept && readAsGiven[o.JSON]:
			t.Errorf("%s: stood in, yet readAsGiven lists it", o.JSON)
		}
	}
	for name := range readAsGiven {
		if !seen[name] {
			t.Errorf("readAsGiven lists %s, which is no file option of the Config", name)
		}
	}
}
