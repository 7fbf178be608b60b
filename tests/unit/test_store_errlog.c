/* test_store_errlog.c - Berkeley DB's messages into the log: repeats of one failure, numbers aside, are folded into a count. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "log.h"
#include "store_db.h"

/* Lines the log wrote to stderr while fn ran (stderr is a temporary file meanwhile). */
static int lines_logged(void (*fn)(void), char *text, size_t textsz)
{
    FILE *tmp = tmpfile();
    int saved = dup(2), n = 0;
    size_t len;

    assert_non_null(tmp);
    fflush(stderr);
    dup2(fileno(tmp), 2);
    fn();
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    rewind(tmp);
    len = fread(text, 1, textsz - 1, tmp);
    text[len] = '\0';
    fclose(tmp);
    for (size_t i = 0; i < len; i++)
        n += text[i] == '\n';
    return n;
}

/* A full disk's storm: three kinds of message, a thousand times over, page numbers changing. */
static void storm(void)
{
    char msg[128];

    for (int i = 0; i < 1000; i++) {
        snprintf(msg, sizeof(msg), "BDB3018 body-%08d.db: unwritable page %d remaining", 1, i);
        store_db_errlog(msg);
        snprintf(msg, sizeof(msg), "BDB3015 body-%08d.db: write failed for page %d", 1, i);
        store_db_errlog(msg);
        snprintf(msg, sizeof(msg), "BDB0137 write: 0x%x, %d: No space left on device", i * 4096, i);
        store_db_errlog(msg);
    }
}

static void other(void)
{
    store_db_errlog("BDB1581 File handles still open at environment close");
}

static void test_storm_folded(void **state)
{
    static char text[65536];

    (void)state;
    log_open("test_store_errlog", 1, "mail");
    assert_int_equal(lines_logged(storm, text, sizeof(text)), 3);
    assert_non_null(strstr(text, "berkeley db: BDB3018 body-00000001.db: unwritable page 0"));
    assert_non_null(strstr(text, "berkeley db: BDB0137 write: 0x0, 0: No space left"));
    /* another message is logged at once; the storm's counts wait for the flush */
    assert_int_equal(lines_logged(other, text, sizeof(text)), 1);
    assert_non_null(strstr(text, "File handles still open"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_storm_folded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
