package strictenvprovider

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/confmap"
)

func retrieve(t *testing.T, uri string) (any, error) {
	t.Helper()
	p := NewFactory().Create(confmap.ProviderSettings{})
	r, err := p.Retrieve(context.Background(), uri, nil)
	if err != nil {
		return nil, err
	}
	return r.AsRaw()
}

func TestAnUnsetVariableWithoutDefaultIsAnErrorNamingIt(t *testing.T) {
	_, err := retrieve(t, "env:GXP_TEST_SURELY_UNSET")
	require.EqualError(t, err, "environment variable GXP_TEST_SURELY_UNSET is not set: this configuration requires it (${env:GXP_TEST_SURELY_UNSET})")
}

func TestDefaultsAndValuesResolveAsUpstream(t *testing.T) {
	v, err := retrieve(t, "env:GXP_TEST_SURELY_UNSET:-127.0.0.1:4327")
	require.NoError(t, err)
	assert.Equal(t, "127.0.0.1:4327", v)
	v, err = retrieve(t, "env:GXP_TEST_SURELY_UNSET:-")
	require.NoError(t, err)
	assert.Equal(t, "", v)
	t.Setenv("GXP_TEST_PORT", "8888")
	v, err = retrieve(t, "env:GXP_TEST_PORT")
	require.NoError(t, err)
	assert.Equal(t, 8888, v, "YAML-typed like upstream")
	t.Setenv("GXP_TEST_EMPTY", "")
	v, err = retrieve(t, "env:GXP_TEST_EMPTY")
	require.NoError(t, err)
	assert.Nil(t, v, "set but empty stays empty (the component names the field)")
	_, err = retrieve(t, "env:BAD-NAME")
	require.ErrorContains(t, err, "invalid name")
}
