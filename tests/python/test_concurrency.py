"""Many Python threads on one session, and sessions in forked and spawned worker processes."""
import multiprocessing
import threading

import numpy as np

import octet
from conftest import random_feeds

_worker_session = None


def test_eight_threads_share_one_model_bit_identically(conv_model):
    for precision in ("fp32", "int8"):
        sess = octet.InferenceSession(conv_model, precision=precision, threads=2,
                                      calibration=random_feeds(4) if precision == "int8" else None)
        feeds = random_feeds(16, seed=11)
        expected = [sess.run(None, f) for f in feeds]
        failures = []

        def worker(seed):
            order = np.random.default_rng(seed).permutation(len(feeds))
            for _ in range(25):
                for i in order:
                    got = sess.run(None, feeds[i])
                    if any(a.tobytes() != b.tobytes() for a, b in zip(got, expected[i])):
                        failures.append((seed, int(i)))

        threads = [threading.Thread(target=worker, args=(t,)) for t in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not failures, "%s: outputs differ from one thread's: %s" % (precision, failures[:5])


def _run_in_forked_worker(i):
    return _worker_session.run(["logits"], random_feeds(1, seed=i)[0])[0].tobytes()


def test_session_made_before_fork_runs_in_forked_workers(conv_model):
    global _worker_session
    _worker_session = octet.InferenceSession(conv_model, threads=2)
    expected = [_worker_session.run(["logits"], random_feeds(1, seed=i)[0])[0].tobytes() for i in range(6)]
    with multiprocessing.get_context("fork").Pool(2) as pool:
        got = pool.map(_run_in_forked_worker, range(6))
    assert got == expected


def _spawned_worker(args):
    path, seed = args
    import octet as worker_octet
    sess = worker_octet.InferenceSession(path, threads=1)
    return sess.run(["logits"], random_feeds(1, seed=seed)[0])[0].tobytes()


def test_sessions_in_spawned_workers(conv_model):
    sess = octet.InferenceSession(conv_model, threads=1)
    expected = [sess.run(["logits"], random_feeds(1, seed=i)[0])[0].tobytes() for i in range(4)]
    with multiprocessing.get_context("spawn").Pool(2) as pool:
        got = pool.map(_spawned_worker, [(conv_model, i) for i in range(4)])
    assert got == expected
