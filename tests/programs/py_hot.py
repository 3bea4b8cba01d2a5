"""py_hot.py - a Python hot loop for the CPU sampling tests (tests/e2e/test_sampling.c,
--python-sampling): main -> py_middle -> py_burn, MS ms of CPU time (argv[1], default
300).  py_burn's loop is where the time goes."""
import sys
import time


def py_burn(n):
    x = 0.0
    for i in range(n):
        x += i * 0.5
    return x


def py_middle(n):
    return py_burn(n)


def main():
    end = time.process_time() + float(sys.argv[1] if len(sys.argv) > 1 else 300) / 1000
    while time.process_time() < end:
        py_middle(20000)


main()
