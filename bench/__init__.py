"""`make bench`: a benchmark harness for EPOS on PostgreSQL (not a timed test).

`bench.generate` fills a dedicated database with a realistic, consistent dataset through COPY;
`bench.scenarios` holds the measured scenarios, registered by name in `bench.registry`;
`bench.run` is the command line. See bench/README.md.
"""
