#!/usr/bin/env python3
"""Tests of bench/memory_startup.py's pure parsing helpers (no octet_run, node or model needed).

    /usr/bin/python3 tests/bench/test_memory_startup.py     (ctest: memory_startup_script)
"""
import pathlib
import sys
import unittest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2] / "bench"))
import memory_startup as ms  # noqa: E402

SMAPS_ROLLUP = """\
55d0c0a00000-7ffd1a3f1000 ---p 00000000 00:00 0                          [rollup]
Rss:              312044 kB
Pss:              210530 kB
Pss_Dirty:         98000 kB
Pss_Anon:          97000 kB
Pss_File:         113530 kB
Pss_Shmem:             0 kB
Shared_Clean:     204000 kB
Shared_Dirty:          0 kB
Private_Clean:      9044 kB
Private_Dirty:     99000 kB
Referenced:       312044 kB
Anonymous:         99000 kB
LazyFree:              0 kB
AnonHugePages:     30720 kB
ShmemPmdMapped:        0 kB
FilePmdMapped:         0 kB
Shared_Hugetlb:        0 kB
Private_Hugetlb:       0 kB
Swap:                  0 kB
SwapPss:               0 kB
Locked:                0 kB
"""

MEMINFO = """\
MemTotal:       24683668 kB
MemFree:        22958000 kB
MemAvailable:   24040000 kB
HugePages_Total:       0
Hugepagesize:       2048 kB
"""


class SmapsRollup(unittest.TestCase):
    def test_fields_and_uss(self):
        r = ms.parse_smaps_rollup(SMAPS_ROLLUP)
        self.assertEqual(r["Rss"], 312044)
        self.assertEqual(r["Pss"], 210530)
        self.assertEqual(r["Shared_Clean"], 204000)
        self.assertEqual(r["Uss"], 9044 + 99000)  # Private_Clean + Private_Dirty

    def test_header_line_is_not_a_field(self):
        r = ms.parse_smaps_rollup(SMAPS_ROLLUP)
        self.assertTrue(all(isinstance(v, int) for v in r.values()))
        self.assertNotIn("55d0c0a00000-7ffd1a3f1000 ---p 00000000 00", r)

    def test_no_rss_is_an_error(self):
        with self.assertRaises(ValueError):
            ms.parse_smaps_rollup("Pss: 1 kB\n")

    def test_missing_private_lines_count_zero(self):
        self.assertEqual(ms.parse_smaps_rollup("Rss: 10 kB\nPrivate_Dirty: 4 kB\n")["Uss"], 4)

    def test_meminfo(self):
        m = ms.parse_meminfo(MEMINFO)
        self.assertEqual(m["MemAvailable"], 24040000)
        self.assertEqual(m["HugePages_Total"], 0)  # a count without kB


class TaskStat(unittest.TestCase):
    def test_plain(self):
        line = ("4242 (octet_run) S 4200 4242 4200 34816 4242 4194304 12000 0 0 0 37 12 0 0 20 0 3 0 "
                "123456 400000000 76000 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0")
        st = ms.parse_task_stat(line)
        self.assertEqual((st["comm"], st["state"], st["utime"], st["stime"]), ("octet_run", "S", 37, 12))

    def test_comm_with_spaces_and_parentheses(self):
        line = "77 (pool (x) 1) R 1 77 1 0 -1 4194368 5 0 0 0 1234 56 0 0 20 0 1 0 99 1 1 0"
        st = ms.parse_task_stat(line)
        self.assertEqual((st["comm"], st["state"], st["utime"], st["stime"]), ("pool (x) 1", "R", 1234, 56))

    def test_truncated(self):
        with self.assertRaises(ValueError):
            ms.parse_task_stat("1 (a) S 1 2 3")
        with self.assertRaises(ValueError):
            ms.parse_task_stat("garbage")

    def test_ticks_between(self):
        before = {1: 100, 2: 50, 3: 7}
        after = {1: 100, 2: 53, 4: 2}  # 3 exited (lost), 4 is new (all of it counts)
        self.assertEqual(ms.ticks_between(before, after), 0 + 3 + 2)
        self.assertEqual(ms.ticks_between(before, dict(before)), 0)


class TimeOutput(unittest.TestCase):
    def test_number(self):
        self.assertEqual(ms.parse_time_maxrss("307876\n"), 307876)

    def test_after_status_line(self):
        self.assertEqual(ms.parse_time_maxrss("Command exited with non-zero status 1\n98765\n"), 98765)

    def test_no_number(self):
        with self.assertRaises(ValueError):
            ms.parse_time_maxrss("Command terminated by signal 9\n")
        with self.assertRaises(ValueError):
            ms.parse_time_maxrss("")


class OctetMetrics(unittest.TestCase):
    def test_timing_and_memory_lines(self):
        out = ("model m.onnx: isa avx2, arena 6.89 MB (7225344 bytes), weights 97.45 MB (102183424 bytes)\n"
               "load_ms 3.25\ncompile_ms 0.5\nready_ms 4.125\nfirst_run_ms 41.0\n"
               "output 'logits' f32[1,1000]: max abs err 3.84e-05, max rel err 0.0101, 0 of 1000 out of tolerance  OK\n"
               "peak_rss_kb 123456\nsteady_rss_kb 120000\nPASS (rtol 0.001, atol 0.0001)\n")
        self.assertEqual(ms.parse_octet_metrics(out), {
            "load_ms": 3.25, "compile_ms": 0.5, "ready_ms": 4.125, "first_run_ms": 41.0,
            "peak_rss_kb": 123456, "steady_rss_kb": 120000})

    def test_separators_units_and_exponents(self):
        out = "ready_ms: 1.5e-1\nload_ms = 2 ms\npeak_rss_kb 77 kB\n"
        self.assertEqual(ms.parse_octet_metrics(out), {"ready_ms": 0.15, "load_ms": 2.0, "peak_rss_kb": 77})

    def test_ignores_other_lines(self):
        out = "compile 12.0 ms, first run 40.0 ms\nready_ms\nunknown_ms 5\nready_ms abc\n"
        self.assertEqual(ms.parse_octet_metrics(out), {})


class FlagRejected(unittest.TestCase):
    def test_unknown_argument(self):
        err = "octet_run: error: unknown argument '--compiled' (see --help)\n"
        self.assertTrue(ms.flag_rejected(2, err, "--compiled"))
        self.assertFalse(ms.flag_rejected(2, err, "--hold"))
        self.assertFalse(ms.flag_rejected(1, err, "--compiled"))

    def test_prefix_flag_is_not_the_flag(self):
        err = "octet_run: error: unknown argument '--compiled-x'\n"
        self.assertFalse(ms.flag_rejected(2, err, "--compiled"))

    def test_other_errors_are_not_missing_flags(self):
        err = "octet_run: error: --compiled: /tmp/x.octet: cannot open\n"
        self.assertFalse(ms.flag_rejected(2, err, "--compiled"))


class Misc(unittest.TestCase):
    def test_cpu_info(self):
        text = ("processor\t: 0\nmodel name\t: AMD EPYC 7B13\nflags\t\t: fpu sse avx avx2 fma\n\n"
                "processor\t: 1\nmodel name\t: AMD EPYC 7B13\nflags\t\t: fpu sse avx avx2 fma\n")
        self.assertEqual(ms.cpu_info(text), ("AMD EPYC 7B13", "avx2"))
        self.assertEqual(ms.cpu_info("model name : X\nflags : avx2 avx512f avx512_vnni\n"), ("X", "avx512_vnni"))
        self.assertEqual(ms.cpu_info("model name : X\nflags : avx2 avx512f\n"), ("X", "avx512f"))
        self.assertEqual(ms.cpu_info("flags : sse2\n"), ("unknown", "none"))

    def test_median_ratio_table(self):
        self.assertEqual(ms.median([3, None, 1, 2]), 2)
        self.assertIsNone(ms.median([None]))
        self.assertIsNone(ms.ratio(1, 0))
        self.assertEqual(ms.fmt_ratio(ms.ratio(3, 2)), "1.50x")
        self.assertEqual(ms.md_table(["a", "b"], [["x"]]).splitlines(), ["| a | b |", "|---|---|", "| x |  |"])


if __name__ == "__main__":
    unittest.main()
