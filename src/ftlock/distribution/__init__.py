"""One distribution's metadata, by the cheapest route that works: PEP 658 files, a range read
of the wheel's ``METADATA``, the whole wheel, or an sdist's PEP 517 build.
"""
