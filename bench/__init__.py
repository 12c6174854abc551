"""Load benchmark of the adapter, with a raw aio-pika + aiohttp baseline in the same run.

    python bench/run.py [--orders 2000] [--commands 1000] [--pdf-kb 100] [--latency-ms 20]
                        [--big-pdf-mb 50] [--json out.json]

run.py          the command line: phases in order, the report
scenario.py     what one phase drives: seeded orders, published commands, collected events
adapter_run.py  the adapter (`dezo-adapter run --role ...`) and the baseline as child processes
baseline.py     the baseline: the same ONCOR calls and publishes, nothing else (also a script)
environment.py  the emulator, its admin API, a vhost of its own, a file server
stats.py        percentiles, process CPU and peak memory, the figures of a phase
"""
