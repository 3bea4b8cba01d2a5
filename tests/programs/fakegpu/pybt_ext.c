/*
 * pybt_ext.c - libpybt_ext.so, the "extension" that pybt_app.py loads with ctypes for
 * tests/e2e/test_pybt.c (--python-backtrace=cuda): pybt_launch(n, ns) makes n
 * cudaLaunchKernel calls of the fake runtime (fake_cudart.c), each with a fake kernel of
 * ns nanoseconds (args[0] points to the length), as a PyTorch operator launches from the
 * Python line that calls it.  Returns the number of failed launches.
 */
int cudaLaunchKernel(const void *func, void **args);

__attribute__((visibility("default"))) int pybt_launch(int n, long ns);

int pybt_launch(int n, long ns)
{
	void *args[1] = {&ns};
	int bad = 0;

	for (int i = 0; i < n; i++)
		bad += cudaLaunchKernel((const void *)pybt_launch, args) != 0;
	__asm__ volatile("" ::: "memory"); /* no tail call: this frame stays */
	return bad;
}
