package expr

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/linnix-os/otelcol-linnix/internal/contract"
)

func TestCheckPathsAcceptsWhereEachSignalCarriesAKey(t *testing.T) {
	for where, sig := range map[string]contract.Signal{
		`attributes["process.executable.name"] == "true"`:                              contract.Lifecycle,
		`log.attributes["process.executable.name"] == "true"`:                          contract.Lifecycle,
		`resource.attributes["host.name"] == "web-3"`:                                  contract.Lifecycle,
		`resource.attributes["process.executable.name"] != "stress"`:                   contract.ProcessMetrics,
		`attributes["cpu.mode"] == "user"`:                                             contract.ProcessMetrics,
		`attributes["state"] != "wait"`:                                                contract.ProcessMetrics, // hostmetrics' key: not ours
		`attributes["custom.team"] == "db" and attributes["process.pid"] > 1`:          contract.Lifecycle,
		`resource.attributes["container.id"] != nil and attributes["cpu.mode"] != nil`: contract.ProcessMetrics,
	} {
		assert.NoError(t, CheckPaths(where, sig), where)
	}
}

func TestCheckPathsNamesTheRightPlace(t *testing.T) {
	err := CheckPaths(`resource.attributes["process.executable.name"] == "true"`, contract.Lifecycle)
	require.Error(t, err)
	assert.Contains(t, err.Error(), `lifecycle records`)
	assert.Contains(t, err.Error(), `write attributes["process.executable.name"]`)

	err = CheckPaths(`attributes["process.pid"] == 42`, contract.ProcessMetrics)
	require.Error(t, err)
	assert.Contains(t, err.Error(), `write resource.attributes["process.pid"]`)

	err = CheckPaths(`datapoint.attributes["container.id"] != nil`, contract.ProcessMetrics)
	require.Error(t, err)
}
