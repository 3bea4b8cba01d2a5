/*
 * osrt_exec_child.c - the program osrt_app execs in a forked child (tests/e2e/test_osrt.c):
 * sleeps usleep(30000) twice and exits 0, so the exec'd process shows exactly two
 * usleep rows of >= 30 ms under its own pid.
 */
#include <unistd.h>

int main(void)
{
	if (usleep(30000) != 0 || usleep(30000) != 0)
		return 1;
	return 0;
}
