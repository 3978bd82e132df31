"""On-demand benchmarks: ``python -m bench [NAME] [--quick]``. Never run by the test suite's timing."""
