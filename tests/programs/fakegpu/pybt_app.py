"""pybt_app.py - the Python application of tests/e2e/test_pybt.c (--python-backtrace=cuda):
main -> small_step (3 launches of 100 us kernels at SMALL_LINE) and main -> big_step (2
launches of 1 ms kernels at BIG_LINE), through libpybt_ext.so (argv[1], ctypes) and the
fake CUDA runtime.  The test reads the line numbers from the markers below."""
import ctypes
import sys


def small_step(lib):
    return lib.pybt_launch(3, 100000)  # SMALL_LINE


def big_step(lib):
    return lib.pybt_launch(2, 1000000)  # BIG_LINE


def main():
    lib = ctypes.CDLL(sys.argv[1])
    bad = small_step(lib)  # MAIN_SMALL_LINE
    bad += big_step(lib)
    print("pybt_app: 5 launches, %d errors" % bad)
    return bad


sys.exit(main())
