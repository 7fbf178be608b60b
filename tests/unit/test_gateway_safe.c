/* test_gateway_safe.c - cmocka tests of the share's name checks and of opening beneath the root without following a link, with openat2 and without. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gateway.h"

static char root[64], outside[80], path[400], target[160];

static const char *in(const char *base, const char *rel)
{
    snprintf(path, sizeof(path), "%s/%s", base, rel);
    return path;
}

/* root: OUT/ and OUT/BAD/ real, P1 a link to a directory outside, LNK.P1 a link to a file outside,
 * FILE a regular file, FIFO.P1 a FIFO. */
static int setup(void **state)
{
    FILE *f;

    (void)state;
    snprintf(root, sizeof(root), "/tmp/sg-safe.XXXXXX");
    assert_non_null(mkdtemp(root));
    snprintf(outside, sizeof(outside), "%s.outside", root);
    assert_int_equal(mkdir(outside, 0700), 0);
    assert_non_null(f = fopen(in(outside, "secret"), "w"));
    fputs("secret\n", f);
    fclose(f);
    assert_int_equal(mkdir(in(root, "OUT"), 0700), 0);
    assert_int_equal(mkdir(in(root, "OUT/BAD"), 0700), 0);
    assert_int_equal(symlink(outside, in(root, "P1")), 0);
    snprintf(target, sizeof(target), "%s/secret", outside);
    assert_int_equal(symlink(target, in(root, "LNK.P1")), 0);
    assert_non_null(f = fopen(in(root, "FILE"), "w"));
    fclose(f);
    assert_int_equal(mkfifo(in(root, "FIFO.P1"), 0600), 0);
    return 0;
}

static int teardown(void **state)
{
    char cmd[200];

    (void)state;
    snprintf(cmd, sizeof(cmd), "rm -rf %s %s", root, outside);
    return system(cmd) == 0 ? 0 : -1;
}

static void test_names(void **state)
{
    const char *good[] = {"P1", "OUT/BAD/00000001.WHY", "GLB/ADDRESS.GLB", "a.b"};
    const char *bad[] = {"",       "/etc/passwd", "..",   "OUT/../x", "./x",
                         "OUT//x", "OUT/",        "a\nb", "a\x7f",    "a\tb"};
    char why[GW_WHY_MAX];

    (void)state;
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        assert_int_equal(gw_safe_name_check("S", "read", good[i], why, sizeof(why)), 0);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(gw_safe_name_check("S", "read", bad[i], why, sizeof(why)),
                         SHARE_PATH_REFUSED);
        assert_non_null(strstr(why, ": refused: "));
    }
}

static void dirs_and_links(void)
{
    char why[GW_WHY_MAX];
    const char *base;
    int fd, rootfd;

    fd = gw_safe_dir(root, "OUT/BAD", "list", why, sizeof(why));
    assert_true(fd >= 0);
    close(fd);
    fd = gw_safe_parent(root, "OUT/BAD/x.WHY", "create", &base, why, sizeof(why));
    assert_true(fd >= 0);
    assert_string_equal(base, "x.WHY");
    close(fd);
    assert_int_equal(gw_safe_dir(root, "P1", "list", why, sizeof(why)), SHARE_PATH_REFUSED);
    assert_non_null(strstr(why, "refused: P1/ is a symbolic link"));
    assert_int_equal(gw_safe_parent(root, "P1/G0000001.TMP", "create", &base, why, sizeof(why)),
                     SHARE_PATH_REFUSED);
    assert_non_null(strstr(why, "P1/ is a symbolic link"));
    assert_int_equal(gw_safe_parent(root, "OUT/../x", "create", &base, why, sizeof(why)),
                     SHARE_PATH_REFUSED);
    assert_int_equal(gw_safe_dir(root, "FILE", "list", why, sizeof(why)), SHARE_PATH_REFUSED);
    assert_non_null(strstr(why, "FILE/ is not a directory"));
    /* A missing directory is a failure, not a refusal: the code says so, whatever the text holds
     * (a share root named "...: refused: ..." puts those words into every message). */
    assert_int_equal(gw_safe_dir(root, "NONE", "list", why, sizeof(why)), -1);
    assert_non_null(strstr(why, strerror(ENOENT)));
    {
        char odd[200];

        snprintf(odd, sizeof(odd), "%s/po: refused: here", root);
        assert_true(mkdir(odd, 0700) == 0 || errno == EEXIST);
        assert_int_equal(gw_safe_dir(odd, "P1", "list", why, sizeof(why)), -1);
        assert_non_null(strstr(why, ": refused: "));
        assert_int_equal(gw_safe_parent(odd, "P1/G0000001.TMP", "create", &base, why, sizeof(why)),
                         -1);
        fd = gw_safe_dir(odd, "", "list", why, sizeof(why));
        assert_true(fd >= 0);
        close(fd);
    }
    {
        /* A component longer than a name can be is refused, never cut to a directory that exists. */
        char longer[301];

        memset(longer, 'a', 300);
        longer[300] = '\0';
        longer[255] = '\0';
        assert_true(mkdir(in(root, longer), 0700) == 0 || errno == EEXIST);
        longer[255] = 'a';
        assert_int_equal(gw_safe_dir(root, longer, "list", why, sizeof(why)), -1);
        assert_non_null(strstr(why, strerror(ENAMETOOLONG)));
    }
    rootfd = gw_safe_dir(root, "", "read", why, sizeof(why));
    assert_true(rootfd >= 0);
    errno = 0;
    assert_int_equal(gw_safe_openat(rootfd, "LNK.P1", O_RDONLY | O_NONBLOCK, 0), -1);
    assert_int_equal(errno, ELOOP);
    fd = gw_safe_openat(rootfd, "FIFO.P1", O_RDONLY | O_NONBLOCK, 0); /* opens at once */
    assert_true(fd >= 0);
    close(fd);
    close(rootfd);
}

static void test_with_openat2(void **state)
{
    (void)state;
    dirs_and_links();
}

static void test_without_openat2(void **state)
{
    (void)state;
    gw_safe_without_openat2();
    dirs_and_links();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names),
        cmocka_unit_test_setup_teardown(test_with_openat2, setup, teardown),
        cmocka_unit_test_setup_teardown(test_without_openat2, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
