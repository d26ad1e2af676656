"""文明城市共建指数看板: the dashboard's data, queries, pages and command line."""

import os

# delta-rs, in the deltalake wheel, allocates from its own jemalloc, which by default keeps the
# pages it frees for 10 s. A replace's Delta merge frees ~0.7 GB at 10M just before the rollups
# are summed again, so the two peaks added up (1.9-2.0 GB). Returned within a second by
# jemalloc's background thread, the replace peaks at ~1.3 GB; its time and ingest's are
# unchanged (README, Performance). jemalloc reads this when deltalake first allocates, so it is
# set before any module of the package imports deltalake; a value already set is kept.
DELTA_ALLOCATOR_SETTING = "_RJEM_MALLOC_CONF"
DELTA_ALLOCATOR = "background_thread:true,dirty_decay_ms:1000,muzzy_decay_ms:0"
os.environ.setdefault(DELTA_ALLOCATOR_SETTING, DELTA_ALLOCATOR)
