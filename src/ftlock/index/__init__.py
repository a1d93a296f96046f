"""The index client: HTTP with retries and bounds, the on-disk cache, simple-API pages (PEP
691/503), index settings and pip's configuration, and range reads of remote files.

Everything here is about talking to an index; nothing here knows what a requirement is.
"""
