// Package strictenvprovider is otelcol-gxp's `env` confmap provider: `${env:NAME}` and `${env:NAME:-default}` as
// the upstream envprovider resolves them, except that a variable that is unset and has no default is an error
// naming it, instead of an empty value with a log line nobody sees. A GxP collector must not start, or validate,
// with a required setting (audit directory, stream id, issuer, certificates) silently empty.
package strictenvprovider

import (
	"context"
	"fmt"
	"os"
	"regexp"
	"strings"

	"go.opentelemetry.io/collector/confmap"
)

const schemeName = "env"

// namePattern is the upstream envprovider's rule for variable names.
var namePattern = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)

type provider struct{}

// NewFactory returns the factory of the strict env provider (scheme "env").
func NewFactory() confmap.ProviderFactory {
	return confmap.NewProviderFactory(func(confmap.ProviderSettings) confmap.Provider { return provider{} })
}

func (provider) Retrieve(_ context.Context, uri string, _ confmap.WatcherFunc) (*confmap.Retrieved, error) {
	if !strings.HasPrefix(uri, schemeName+":") {
		return nil, fmt.Errorf("%q uri is not supported by %q provider", uri, schemeName)
	}
	name, fallback, hasDefault := strings.Cut(uri[len(schemeName)+1:], ":-")
	if !namePattern.MatchString(name) {
		return nil, fmt.Errorf("environment variable %q has invalid name: must match regex %s", name, namePattern)
	}
	value, set := os.LookupEnv(name)
	if !set {
		if !hasDefault {
			return nil, fmt.Errorf("environment variable %s is not set: this configuration requires it (${env:%s})", name, name)
		}
		if fallback == "" {
			return confmap.NewRetrieved("")
		}
		value = fallback
	}
	return confmap.NewRetrievedFromYAML([]byte(value))
}

func (provider) Scheme() string { return schemeName }

func (provider) Shutdown(context.Context) error { return nil }
