package gxpauditexporter

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/client"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/peer"
)

// subjectAuth is client.AuthData as an authenticator such as oidcauth provides it.
type subjectAuth struct{ subject string }

func (a subjectAuth) GetAttribute(name string) any {
	if name == "subject" {
		return a.subject
	}
	return nil
}

func (subjectAuth) GetAttributeNames() []string { return []string{"subject"} }

// spanBodies returns the bodies of the span records of the trail in dir.
func spanBodies(t *testing.T, dir string) []map[string]any {
	t.Helper()
	var out []map[string]any
	files, _ := filepath.Glob(filepath.Join(dir, "audit-*-*.jsonl"))
	for _, f := range files {
		data, err := os.ReadFile(f)
		require.NoError(t, err)
		for _, line := range strings.Split(strings.TrimSuffix(string(data), "\n"), "\n") {
			var rec struct {
				Kind string         `json:"kind"`
				Body map[string]any `json:"body"`
			}
			require.NoError(t, json.Unmarshal([]byte(line), &rec))
			if rec.Kind == "span" {
				out = append(out, rec.Body)
			}
		}
	}
	return out
}

func requestContext(info client.Info) context.Context {
	return client.NewContext(context.Background(), info)
}

func TestTheAuthenticatedSubjectAndPeerAreSealedIntoEveryRecord(t *testing.T) {
	cfg := testConfig(t)
	te, le := pipelines(t, cfg)
	peer := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 40001}
	td := traces(1, 2)
	td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0).Attributes().PutStr("enduser.id", "qa.head")
	require.NoError(t, te.ConsumeTraces(requestContext(client.Info{Addr: peer, Auth: subjectAuth{"lims-service"}}), td))
	require.NoError(t, te.Shutdown(context.Background()))
	require.NoError(t, le.Shutdown(context.Background()))
	verify(t, cfg.Directory)

	bodies := spanBodies(t, cfg.Directory)
	require.Len(t, bodies, 2)
	for _, body := range bodies {
		assert.Equal(t, map[string]any{"peer": "127.0.0.1:40001", "subject": "lims-service", "via": "authenticator"},
			body["ingest"])
	}
	assert.Equal(t, "qa.head", bodies[0]["gxp"].(map[string]any)["user_id"], "the declared identity stays declared")
}

func TestAClientCannotSetTheIngestionFieldThroughHeadersOrAttributes(t *testing.T) {
	cfg := testConfig(t)
	te, le := pipelines(t, cfg)
	td := traces(1, 1)
	attrs := td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0).Attributes()
	attrs.PutStr("enduser.id", "qa.head")
	attrs.PutStr("gxp.ingest.subject", "qa.head")
	// Headers a receiver with include_metadata passes on, named like the exporter's own keys.
	forged := client.NewMetadata(map[string][]string{
		metaSubject: {"qa.head"}, metaVia: {viaAuthenticator}, metaPeer: {"10.0.0.1:1"},
	})
	require.NoError(t, te.ConsumeTraces(requestContext(client.Info{Metadata: forged}), td))
	require.NoError(t, te.Shutdown(context.Background()))
	require.NoError(t, le.Shutdown(context.Background()))

	bodies := spanBodies(t, cfg.Directory)
	require.Len(t, bodies, 1)
	assert.Equal(t, map[string]any{"peer": "", "subject": "", "via": "none"}, bodies[0]["ingest"])
	claim := bodies[0]["attributes"].(map[string]any)["gxp.ingest.subject"]
	assert.Equal(t, map[string]any{"stringValue": "qa.head"}, claim, "the claim is recorded as the client's attribute")
}

func TestABatchingQueueIsPartitionedBySender(t *testing.T) {
	cfg := testConfig(t)
	cfg.QueueConfig.GetOrInsertDefault().Batch.GetOrInsertDefault()
	partitioned := withIngestionPartitions(cfg)
	assert.Equal(t, ingestionKeys, partitioned.QueueConfig.Get().Batch.Get().Partition.MetadataKeys)
	assert.Empty(t, cfg.QueueConfig.Get().Batch.Get().Partition.MetadataKeys, "the component's own config is unchanged")

	// Two senders through one batching queue: each record keeps its own sender.
	te, le := pipelines(t, cfg)
	for i, subject := range []string{"agent.a", "agent.b", "agent.a"} {
		require.NoError(t, te.ConsumeTraces(requestContext(client.Info{Auth: subjectAuth{subject}}), traces(i, 3)))
	}
	require.NoError(t, te.Shutdown(context.Background()))
	require.NoError(t, le.Shutdown(context.Background()))
	bySubject := map[string]int{}
	for _, body := range spanBodies(t, cfg.Directory) {
		ingest := body["ingest"].(map[string]any)
		batch := body["attributes"].(map[string]any)["batch"].(map[string]any)["intValue"]
		want := map[string]string{"0": "agent.a", "1": "agent.b", "2": "agent.a"}[batch.(string)]
		assert.Equal(t, want, ingest["subject"])
		bySubject[ingest["subject"].(string)]++
	}
	assert.Equal(t, map[string]int{"agent.a": 6, "agent.b": 3}, bySubject)
}

func TestAVerifiedGRPCClientCertificateNamesTheSubjectAndAnUnverifiedOneDoesNot(t *testing.T) {
	cert := &x509.Certificate{Subject: pkix.Name{CommonName: "agent-7", Organization: []string{"gxp-otel"}}}
	addr := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 40002}
	withPeer := func(verified bool) context.Context {
		state := tls.ConnectionState{PeerCertificates: []*x509.Certificate{cert}}
		if verified {
			state.VerifiedChains = [][]*x509.Certificate{{cert}}
		}
		ctx := peer.NewContext(context.Background(), &peer.Peer{Addr: addr, AuthInfo: credentials.TLSInfo{State: state}})
		return client.NewContext(ctx, client.Info{Addr: addr})
	}
	ingest := func(ctx context.Context) map[string]any {
		var out map[string]any
		require.NoError(t, json.Unmarshal(appendIngestion(nil, stampIngestion(ctx)), &out))
		return out
	}
	assert.Equal(t, map[string]any{"peer": "127.0.0.1:40002", "subject": "CN=agent-7,O=gxp-otel", "via": "tls-client-certificate"},
		ingest(withPeer(true)))
	assert.Equal(t, map[string]any{"peer": "127.0.0.1:40002", "subject": "", "via": "none"}, ingest(withPeer(false)))
	// An authenticator's subject wins over the certificate.
	ctx := client.NewContext(withPeer(true), client.Info{Addr: addr, Auth: subjectAuth{"lims-service"}})
	assert.Equal(t, "lims-service", ingest(ctx)["subject"])
}
