/*
 * test_util.c - the one-of-each helpers of core/util.[ch] (issue 16): the growth macro
 * GP_ALLOC_GROW (git's ALLOC_GROW), xrealloc_array's overflow check, and the int64 hash
 * map every table module uses (i64map).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/util.h"

/* Growing one element at a time keeps what was stored, allocates only when full, and
 * grows by half plus 16 (few reallocations: about log1.5(n)). */
static void test_alloc_grow(void **state)
{
	uint64_t *v = NULL;
	size_t n = 0, alloc = 0, grows = 0, last = 0;

	for (uint64_t i = 0; i < 100000; i++) {
		GP_ALLOC_GROW(v, n + 1, alloc);
		assert_true(alloc >= n + 1);
		if (alloc != last) {
			assert_true(last == 0 ? alloc == 24 : alloc == (last + 16) * 3 / 2);
			grows++;
			last = alloc;
		}
		v[n++] = i * 7;
	}
	for (uint64_t i = 0; i < n; i++)
		assert_int_equal(v[i], i * 7);
	assert_true(grows < 30);
	/* room already there: nothing moves */
	{
		uint64_t *before = v;
		size_t a = alloc;

		GP_ALLOC_GROW(v, alloc, alloc);
		GP_ALLOC_GROW(v, 1, alloc);
		assert_ptr_equal(v, before);
		assert_int_equal(alloc, a);
	}
	/* a jump past the growth step gets exactly what was asked */
	GP_ALLOC_GROW(v, 10 * alloc, alloc);
	assert_int_equal(alloc, 10 * last);
	v[alloc - 1] = 1; /* (ASan: the room is really there) */
	free(v);
}

/* nmemb * size past SIZE_MAX dies with one "out of memory" line (exit 1), not a short
 * allocation. */
static void test_realloc_array_overflow(void **state)
{
	int status;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		close(2); /* (the die() line is not this test's output) */
		xrealloc_array(NULL, SIZE_MAX / 8 + 2, 8);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), GP_EXIT_ERROR);
}

/* i64map: insert, find, overwrite through the pointer, growth past many keys, negative
 * keys, free and reuse. */
static void test_i64map(void **state)
{
	struct i64map m;
	int found;

	memset(&m, 0, sizeof(m));
	assert_null(i64map_find(&m, 5));
	for (int64_t k = -5000; k < 5000; k++) {
		int64_t *v = i64map_get(&m, k * 3, -1, &found);

		assert_false(found);
		assert_int_equal(*v, -1);
		*v = k;
	}
	assert_int_equal(m.n, 10000);
	for (int64_t k = -5000; k < 5000; k++) {
		int64_t *v = i64map_find(&m, k * 3);

		assert_non_null(v);
		assert_int_equal(*v, k);
		assert_null(i64map_find(&m, k * 3 + 1));
	}
	assert_int_equal(*i64map_get(&m, 9, 0, &found), 3);
	assert_true(found);
	i64map_free(&m);
	assert_null(i64map_find(&m, 9));
	*i64map_get(&m, 9, 0, &found) = 42;
	assert_int_equal(*i64map_find(&m, 9), 42);
	i64map_free(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_alloc_grow),
	    cmocka_unit_test(test_realloc_array_overflow),
	    cmocka_unit_test(test_i64map),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
