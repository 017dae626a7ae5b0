"""Worker processes: results in the callers' order, one torch thread per worker, failures raised,
and no pool where there is nothing to spread (one job, one call, a GPU)."""

import pytest
import torch

from redundancy.parallel import map_in_processes, worker_count


def test_results_keep_the_order_of_the_calls_and_workers_use_one_thread():
    calls = [(base, 3) for base in range(5)] + [{"base": 5, "exp": 2}]
    assert map_in_processes(pow, calls, jobs=2, progress=False) == [b ** 3 for b in range(5)] + [25]
    assert map_in_processes(torch.get_num_threads, [(), ()], jobs=2, progress=False) == [1, 1]


def test_one_job_runs_here_with_the_callers_threads():
    assert map_in_processes(torch.get_num_threads, [(), ()], jobs=1, progress=False) == [torch.get_num_threads()] * 2


def test_a_failing_call_is_raised():
    with pytest.raises(ValueError, match="invalid literal"):
        map_in_processes(int, [("3",), ("not a number",), ("4",)], jobs=2, progress=False)


def test_worker_count():
    assert worker_count("cuda") == 1 and worker_count("cuda:0", jobs=4) == 1
    assert worker_count("cpu", jobs=3) == 3 and worker_count("cpu") >= 1
    with pytest.raises(ValueError, match="at least 1"):
        worker_count("cpu", jobs=0)
    with pytest.raises(ValueError, match="at least 1"):
        map_in_processes(pow, [(1, 1)], jobs=0)
