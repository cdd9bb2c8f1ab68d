// DuckDB runs each query on libuv's thread pool: keep it larger than the number of concurrent
// queries (one per comparison plus API reads), or a long window diff stalls every other query.
// Imported first by the CLI, before anything starts the pool.
process.env.UV_THREADPOOL_SIZE ??= '16';
