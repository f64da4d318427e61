module github.com/gxp-otel/gxp-otel/exporters/gxpauditexporter

go 1.24
