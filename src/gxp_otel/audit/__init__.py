"""The audit trail: format (canonicalisation, hashing, records), writer, exporters and verifier.

The verifier imports only the format modules (``canonical``, ``format``, ``signing``), never the writer.
"""
