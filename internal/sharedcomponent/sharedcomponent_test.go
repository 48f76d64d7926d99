package sharedcomponent

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
)

type counter struct {
	starts, stops int
	startErr      error
}

func (c *counter) Start(context.Context, component.Host) error { c.starts++; return c.startErr }
func (c *counter) Shutdown(context.Context) error              { c.stops++; return nil }

func TestOneInstancePerKeyStartsAndStopsOnce(t *testing.T) {
	var m Map[int, *counter]
	created := 0
	create := func() (*counter, error) { created++; return &counter{}, nil }
	a, err := m.LoadOrStore(1, create)
	require.NoError(t, err)
	b, err := m.LoadOrStore(1, create)
	require.NoError(t, err)
	_, err = m.LoadOrStore(2, create)
	require.NoError(t, err)
	assert.Same(t, a, b)
	assert.Equal(t, 2, created)

	ctx, host := context.Background(), componenttest.NewNopHost()
	require.NoError(t, a.Start(ctx, host))
	require.NoError(t, b.Start(ctx, host))
	require.NoError(t, a.Shutdown(ctx))
	require.NoError(t, b.Shutdown(ctx))
	assert.Equal(t, 1, a.Value.starts)
	assert.Equal(t, 1, a.Value.stops)
	assert.Equal(t, 1, m.Len(), "a shut-down instance is released")

	c, err := m.LoadOrStore(1, create)
	require.NoError(t, err)
	assert.NotSame(t, a, c, "after release the key gets a fresh instance")
}

func TestStartErrorIsReturnedToEveryCaller(t *testing.T) {
	var m Map[string, *counter]
	boom := errors.New("boom")
	c, err := m.LoadOrStore("x", func() (*counter, error) { return &counter{startErr: boom}, nil })
	require.NoError(t, err)
	assert.ErrorIs(t, c.Start(context.Background(), nil), boom)
	assert.ErrorIs(t, c.Start(context.Background(), nil), boom)
	assert.Equal(t, 1, c.Value.starts)
}

func TestCreateErrorStoresNothing(t *testing.T) {
	var m Map[string, *counter]
	_, err := m.LoadOrStore("x", func() (*counter, error) { return nil, errors.New("bad") })
	require.Error(t, err)
	assert.Equal(t, 0, m.Len())
}
