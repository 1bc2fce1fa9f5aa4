package workspace

import "testing"

func TestBOMAndCRLFKeepLines(t *testing.T) {
	for name, text := range map[string]string{
		"bom":  "\ufeff" + base + sib("a", "foundation") + "colour = 1\n",
		"crlf": "[workspace]\r\nname = \"ws\"\r\nrepo = \"https://github.com/acme/ws.git\"\r\n\r\n[[siblings]]\r\nname = \"a\"\r\nrepo = \"https://github.com/acme/a.git\"\r\nlayer = \"foundation\"\r\ndepends_on = []\r\n\r\ncolour = 1\r\n",
	} {
		_, _, err := Parse("w.toml", []byte(text))
		ve, ok := err.(*ValidationError)
		if !ok || len(ve.Problems) != 1 || ve.Problems[0].Line != 11 {
			t.Errorf("%s: %v, want one problem at line 11", name, err)
		}
	}
}
