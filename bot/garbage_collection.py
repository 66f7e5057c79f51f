"""The garbage collector's settings for a worker that sends: fewer, not longer, collections.

CPython runs a young-generation collection whenever 700 more container objects are alive than
at the last one. A proactive send keeps a few hundred objects alive for the 20-200 ms the
Connector takes to answer, so at 50 sends in flight the collector runs every few sends, finds
nothing (every object of a send is freed by reference counting when it ends), and promotes the
in-flight objects towards the oldest generation, whose collections walk every object of the
process. Measured with ``python -m bench.send_worker``: 300 young and 3 full collections per
2,000 sends, 40-80 µs of CPU per message, about a sixth of the sender's CPU (bench/README.md,
"Send-path CPU").

:func:`tune_for_sending` raises the young threshold tenfold and freezes what start-up built
(modules, settings, schemas: alive for the life of the process) out of the full collections.
Cyclic garbage is still collected, in larger batches; the memory it holds meanwhile is small
next to the worker's.
"""

from __future__ import annotations

import gc

YOUNG_THRESHOLD = 7_000
"""Objects allocated (net) between young collections; CPython's default is 700."""


def tune_for_sending() -> None:
    """Raise the young-generation threshold and freeze the objects alive now.

    Call once, at the end of start-up. Calling it again only freezes what is alive then.
    """
    young, middle, old = gc.get_threshold()
    gc.set_threshold(max(YOUNG_THRESHOLD, young), middle, old)
    gc.freeze()
