"""Where the groups of a run (arm x sweep point) are simulated: here, or on a Dask cluster.

The default runs the groups one after another in this process, each group's
patients in parallel compiled threads.  ``dask`` sends each group to a worker of a
Dask cluster (``pip install pkpd[dask]``): an existing scheduler by address, or a
``LocalCluster`` started for the run (``local``).  Each group is deterministic and
draws its patients from per-patient random streams, so the result is bitwise the
same whichever executor runs it.
"""

from __future__ import annotations

import contextlib
from typing import Callable, Iterator

from pkpd.errors import InputError

__all__ = ["EXECUTORS", "executor"]

EXECUTORS = ("threads", "dask")


@contextlib.contextmanager
def executor(name: str = "threads", scheduler: str | None = None,
             n_workers: int = 2) -> Iterator[Callable | None]:
    """Yield a ``map_groups(fn, items)`` for :func:`pkpd.runner.run` (None for the default threads).

    ``scheduler`` (dask only): a scheduler address such as ``tcp://10.0.0.5:8786``, or ``local``
    to start a ``LocalCluster`` of ``n_workers`` single-threaded worker processes for the run.
    """
    if name not in EXECUTORS:
        raise InputError("--executor", "must be one of " + ", ".join(EXECUTORS), name)
    if name == "threads":
        if scheduler is not None:
            raise InputError("--scheduler", "only applies to --executor dask", show_value=False)
        yield None
        return
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError:
        raise InputError("--executor", "dask needs the dask extra: pip install 'pkpd[dask]'",
                         show_value=False) from None
    if not scheduler:
        raise InputError("--scheduler", "give a scheduler address, or 'local' to start a local cluster",
                         show_value=False)
    cluster = None
    if scheduler == "local":
        cluster = LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True,
                               dashboard_address=None)
        client = Client(cluster)
    else:
        try:
            client = Client(scheduler, timeout="20s")
        except OSError as err:
            raise InputError("--scheduler", f"cannot reach the Dask scheduler ({err})", scheduler) from None

    def map_groups(fn, items):
        futures = client.map(fn, list(items), pure=False)
        for future in futures:  # in order, as they finish, so progress and checkpoints advance
            yield future.result()

    try:
        yield map_groups
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
