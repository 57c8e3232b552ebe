@_exported import IngestConfig
