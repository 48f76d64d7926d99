package contract

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestDocumentNamesEveryConstant keeps docs/records.md, which users read,
// in step with this package, which the components read.
func TestDocumentNamesEveryConstant(t *testing.T) {
	doc, err := os.ReadFile("../../docs/records.md")
	require.NoError(t, err)
	f, err := parser.ParseFile(token.NewFileSet(), "contract.go", nil, 0)
	require.NoError(t, err)
	var names []string
	for _, d := range f.Decls {
		if g, ok := d.(*ast.GenDecl); ok && g.Tok == token.CONST {
			ast.Inspect(g, func(n ast.Node) bool {
				if lit, ok := n.(*ast.BasicLit); ok && lit.Kind == token.STRING {
					s, err := strconv.Unquote(lit.Value)
					require.NoError(t, err)
					names = append(names, s)
				}
				return true
			})
		}
	}
	require.NotEmpty(t, names)
	for _, name := range names {
		assert.True(t, strings.Contains(string(doc), "`"+name+"`"),
			"docs/records.md does not mention %q", name)
	}
}

func TestEachIdentityKeyHasOnePlacePerSignal(t *testing.T) {
	for _, k := range processIdentity {
		life, ok := PlaceOf(Lifecycle, k)
		require.True(t, ok, k)
		metrics, ok := PlaceOf(ProcessMetrics, k)
		require.True(t, ok, k)
		assert.Equal(t, Record, life, k)
		assert.Equal(t, Resource, metrics, k)
	}
	_, ok := PlaceOf(ProcessMetrics, "state")
	assert.False(t, ok, "keys others write are unknown, not misplaced")
}

func TestSeverityRankOrdersSeverities(t *testing.T) {
	assert.Less(t, SeverityRank(SeverityInfo), SeverityRank(SeverityWarning))
	assert.Less(t, SeverityRank(SeverityWarning), SeverityRank(SeverityCritical))
	assert.Equal(t, -1, SeverityRank("page-everyone"))
}
