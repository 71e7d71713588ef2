"""One module per DAG stage; each `run()` reads only its declared inputs and params, writes atomically."""
