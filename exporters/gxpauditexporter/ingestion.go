package gxpauditexporter

import (
	"context"
	"slices"

	"go.opentelemetry.io/collector/client"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/peer"

	"github.com/gxp-otel/gxp-otel/exporters/gxpauditexporter/auditformat"
)

// Ingestion attribution (docs/audit-format.md §5.6): who delivered a request, as the collector's receiver
// established it, never as the request claims it. The identity is taken from the request's client.Info the moment
// the pipeline hands the request to gxpaudit (before the sending queue), and travels with the request through the
// queue as client metadata under the keys below. Every other metadata key is dropped at that point, so a header
// or attribute a client sends can never reach these keys: a client's own claim stays in the record's attributes.
const (
	metaPeer    = "gxp.ingest.peer"
	metaSubject = "gxp.ingest.subject"
	metaVia     = "gxp.ingest.via"
)

// ingestionKeys are the metadata keys a batching sending queue must partition by, so that requests of different
// senders are never merged into one batch (whose context would carry only one of them).
var ingestionKeys = []string{metaPeer, metaSubject, metaVia}

// How the subject was established (the body's ingest.via).
const (
	// viaAuthenticator: the receiver's server authenticator (e.g. oidc) accepted the request and named the subject
	// (its auth data attribute "subject", else "username").
	viaAuthenticator = "authenticator"
	// viaTLSCertificate: the gRPC connection presented a client certificate that verified against the receiver's
	// client_ca_file; the subject is the certificate's subject distinguished name (RFC 2253 form).
	viaTLSCertificate = "tls-client-certificate"
	// viaNone: nothing identified the sender (no authenticator naming a subject, no verified client certificate).
	// An authenticator that names nobody (bearertokenauth) also records "none": it proves a shared secret, not who.
	viaNone = "none"
)

// stampIngestion returns ctx with a client.Info holding only the ingestion identity of the request in ctx: the
// peer address and, when established, the authenticated subject. Client metadata (headers) is not carried on.
func stampIngestion(ctx context.Context) context.Context {
	info := client.FromContext(ctx)
	peerAddr := ""
	if info.Addr != nil {
		peerAddr = info.Addr.String()
	}
	subject, via := authenticatedSubject(ctx, info)
	return client.NewContext(ctx, client.Info{
		Addr: info.Addr,
		Metadata: client.NewMetadata(map[string][]string{
			metaPeer:    {peerAddr},
			metaSubject: {subject},
			metaVia:     {via},
		}),
	})
}

// authenticatedSubject prefers the authenticator's subject, then a verified gRPC client certificate.
func authenticatedSubject(ctx context.Context, info client.Info) (subject, via string) {
	if info.Auth != nil {
		for _, name := range [...]string{"subject", "username"} {
			if s, ok := info.Auth.GetAttribute(name).(string); ok && s != "" {
				return s, viaAuthenticator
			}
		}
	}
	if p, ok := peer.FromContext(ctx); ok {
		if tlsInfo, ok := p.AuthInfo.(credentials.TLSInfo); ok && len(tlsInfo.State.VerifiedChains) > 0 &&
			len(tlsInfo.State.PeerCertificates) > 0 {
			return tlsInfo.State.PeerCertificates[0].Subject.String(), viaTLSCertificate
		}
	}
	return "", viaNone
}

// appendIngestion appends the canonical ingest object of the request in ctx, as stamped by stampIngestion:
// {"peer": …, "subject": …, "via": …}. A request without a stamp (which the exporter's own consumer never lets
// through) is recorded as unidentified.
func appendIngestion(dst []byte, ctx context.Context) []byte {
	md := client.FromContext(ctx).Metadata
	first := func(key, fallback string) string {
		if v := md.Get(key); len(v) > 0 {
			return v[0]
		}
		return fallback
	}
	via := first(metaVia, viaNone)
	subject := first(metaSubject, "")
	if via == viaNone {
		subject = ""
	}
	dst = append(dst, `{"peer":`...)
	dst = appendCleanString(dst, first(metaPeer, ""))
	dst = append(dst, `,"subject":`...)
	dst = appendCleanString(dst, subject)
	dst = append(dst, `,"via":`...)
	dst = appendCleanString(dst, via)
	return append(dst, '}')
}

func appendCleanString(dst []byte, s string) []byte {
	clean, _ := auditformat.ValidUTF8(s)
	return auditformat.AppendString(dst, clean)
}

// withIngestionPartitions returns the queue configuration with the ingestion keys added to the batch partition
// keys when the sending queue batches, so a batch never mixes senders.
func withIngestionPartitions(cfg *Config) *Config {
	if !cfg.QueueConfig.HasValue() || !cfg.QueueConfig.Get().Batch.HasValue() {
		return cfg
	}
	c := *cfg
	queue := *c.QueueConfig.Get()
	batch := *queue.Batch.Get()
	keys := slices.Clone(batch.Partition.MetadataKeys)
	for _, k := range ingestionKeys {
		if !slices.Contains(keys, k) {
			keys = append(keys, k)
		}
	}
	batch.Partition.MetadataKeys = keys
	*queue.Batch.Get() = batch
	*c.QueueConfig.Get() = queue
	return &c
}

// attributedTraces stamps each request's ingestion identity before the exporter helper (and its queue) sees it.
type attributedTraces struct{ exporter.Traces }

func (t attributedTraces) ConsumeTraces(ctx context.Context, td ptrace.Traces) error {
	return t.Traces.ConsumeTraces(stampIngestion(ctx), td)
}

// attributedLogs is attributedTraces for logs.
type attributedLogs struct{ exporter.Logs }

func (l attributedLogs) ConsumeLogs(ctx context.Context, ld plog.Logs) error {
	return l.Logs.ConsumeLogs(stampIngestion(ctx), ld)
}

var (
	_ consumer.Traces = attributedTraces{}
	_ consumer.Logs   = attributedLogs{}
)
