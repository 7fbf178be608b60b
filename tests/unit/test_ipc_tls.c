/* test_ipc_tls.c - unit tests of mutual TLS for IPC over TCP: two engines in memory, the handshake, frames sealed and opened, every refusal (CA, address, no context). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"
#include "ipc_tls.h"

static char dir[] = "/tmp/test_ipc_tls.XXXXXX";

/* A CA, a host certificate for mx.test / 127.0.0.1 signed by it, and one of another CA. */
static int make_pki(void **state)
{
    char cmd[4096];

    (void)state;
    if (!mkdtemp(dir))
        return -1;
    snprintf(cmd, sizeof(cmd),
             "cd %s && for ca in ca other; do openssl req -x509 -newkey rsa:2048 -nodes "
             "-subj /CN=$ca -days 2 -keyout $ca.key -out $ca.pem || exit 1; done && "
             "printf 'subjectAltName=DNS:mx.test,IP:127.0.0.1\\n' > ext && "
             "for c in mx:ca forged:other; do n=${c%%:*}; a=${c#*:}; "
             "openssl req -newkey rsa:2048 -nodes -subj /CN=mx.test -keyout $n.key -out $n.csr "
             "&& openssl x509 -req -in $n.csr -CA $a.pem -CAkey $a.key -CAcreateserial -days 2 "
             "-extfile ext -out $n.pem || exit 1; done",
             dir);
    strcat(cmd, " > /dev/null 2>&1");
    return system(cmd) == 0 ? 0 : -1;
}

static int remove_pki(void **state)
{
    char cmd[256];

    (void)state;
    ipc_tls_cleanup();
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* This process's IPC context from a config naming CERT.pem/.key and CA.pem. */
static int setup_as(const char *cert, const char *ca, char *why, size_t whysz)
{
    char text[1024], err[512];
    struct sg_config *c;
    int ret;

    snprintf(
        text, sizeof(text),
        "[global]\nipc_tls_cert = %s/%s.pem\nipc_tls_key = %s/%s.key\nipc_tls_ca = %s/%s.pem\n",
        dir, cert, dir, cert, dir, ca);
    c = config_parse_text(text, "test", err, sizeof(err));
    assert_non_null(c);
    ret = ipc_tls_setup(c, why, whysz);
    config_free(c);
    return ret;
}

/* Records back and forth until neither side has more: the result of each side's last step;
 * why says the client's failure. */
static void pump(struct ipc_tls *cl, struct ipc_tls *sv, struct sg_buf *cl_plain,
                 struct sg_buf *sv_plain, int *cl_ret, int *sv_ret, char *why, size_t whysz)
{
    struct sg_buf to_sv = {0}, to_cl = {0};
    char sv_why[512];

    *cl_ret = ipc_tls_in(cl, NULL, 0, cl_plain, &to_sv, why, whysz);
    *sv_ret = 0;
    for (int round = 0; round < 10 && (to_sv.len || to_cl.len); round++) {
        if (to_sv.len) {
            struct sg_buf in = to_sv;

            to_sv = (struct sg_buf){0};
            *sv_ret = ipc_tls_in(sv, in.data, in.len, sv_plain, &to_cl, sv_why, sizeof(sv_why));
            sg_buf_free(&in);
        }
        if (to_cl.len) {
            struct sg_buf in = to_cl;

            to_cl = (struct sg_buf){0};
            *cl_ret = ipc_tls_in(cl, in.data, in.len, cl_plain, &to_sv, why, whysz);
            sg_buf_free(&in);
        }
    }
    sg_buf_free(&to_sv);
    sg_buf_free(&to_cl);
}

static void test_handshake_and_frames(void **state)
{
    struct ipc_tls cl, sv;
    struct sg_buf cl_plain = {0}, sv_plain = {0}, sealed = {0};
    char why[512];
    int cr, sr;

    (void)state;
    assert_int_equal(setup_as("mx", "ca", why, sizeof(why)), 0);
    assert_int_equal(ipc_tls_begin(&sv, 1, NULL, why, sizeof(why)), 0);
    assert_int_equal(ipc_tls_begin(&cl, 0, "127.0.0.1", why, sizeof(why)), 0);
    pump(&cl, &sv, &cl_plain, &sv_plain, &cr, &sr, why, sizeof(why));
    assert_true(cl.established);
    assert_true(sv.established);
    assert_int_equal(sr, 1); /* the server's handshake ended with the client's last flight */
    assert_true(tls_bio_peer_has_name(sv.bio, "mx.test"));
    assert_false(tls_bio_peer_has_name(sv.bio, "other.test"));
    /* a frame sealed by one side comes out whole on the other, in pieces or at once */
    assert_int_equal(ipc_tls_seal(&cl, "hello, store", 12, &sealed), 0);
    assert_true(sealed.len > 12);
    assert_int_equal(ipc_tls_in(&sv, sealed.data, 5, &sv_plain, &sealed, why, sizeof(why)), 0);
    assert_int_equal(sv_plain.len, 0);
    {
        struct sg_buf rest = {0};

        assert_int_equal(
            ipc_tls_in(&sv, sealed.data + 5, sealed.len - 5, &sv_plain, &rest, why, sizeof(why)),
            0);
        sg_buf_free(&rest);
    }
    assert_int_equal(sv_plain.len, 12);
    assert_memory_equal(sv_plain.data, "hello, store", 12);
    ipc_tls_end(&cl);
    ipc_tls_end(&sv);
    sg_buf_free(&cl_plain);
    sg_buf_free(&sv_plain);
    sg_buf_free(&sealed);
}

/* A store engine as mx.test, a client engine with client's certificate connecting to host,
 * pumped: each side's last result, whether the store's handshake ended, the client's why. */
static void handshake_as(const char *client, const char *host, int *cr, int *sr, int *sv_done,
                         char *why, size_t whysz)
{
    struct ipc_tls cl, sv;
    struct sg_buf a = {0}, b = {0};

    assert_int_equal(setup_as("mx", "ca", why, whysz), 0);
    assert_int_equal(ipc_tls_begin(&sv, 1, NULL, why, whysz), 0);
    assert_int_equal(setup_as(client, "ca", why, whysz), 0); /* the store's engine keeps its own */
    assert_int_equal(ipc_tls_begin(&cl, 0, host, why, whysz), 0);
    pump(&cl, &sv, &a, &b, cr, sr, why, whysz);
    *sv_done = sv.established;
    ipc_tls_end(&cl);
    ipc_tls_end(&sv);
    sg_buf_free(&a);
    sg_buf_free(&b);
}

/* The client checks the store's certificate against the address it connected to. */
static void test_wrong_address(void **state)
{
    char why[512] = "";
    int cr, sr, sv_done;

    (void)state;
    handshake_as("mx", "10.9.9.9", &cr, &sr, &sv_done, why, sizeof(why));
    assert_int_equal(cr, -1);
    assert_non_null(strstr(why, "not for 10.9.9.9"));
    assert_false(sv_done);
}

/* A client certificate of another CA (the client trusts the store's CA): the store's handshake
 * fails, and its alert reaches the client. */
static void test_other_ca(void **state)
{
    char why[512] = "";
    int cr, sr, sv_done;

    (void)state;
    handshake_as("forged", "127.0.0.1", &cr, &sr, &sv_done, why, sizeof(why));
    assert_int_equal(sr, -1);
    assert_false(sv_done);
    assert_int_equal(cr, -1);
}

/* Without a context no engine begins, and a bad file is refused with its name. */
static void test_no_context(void **state)
{
    struct ipc_tls t;
    char why[512] = "";

    (void)state;
    ipc_tls_cleanup();
    assert_null(ipc_tls_ctx());
    assert_int_equal(ipc_tls_begin(&t, 0, "127.0.0.1", why, sizeof(why)), -1);
    assert_non_null(strstr(why, "ipc_tls_cert"));
    assert_int_equal(setup_as("missing", "ca", why, sizeof(why)), -1);
    assert_non_null(strstr(why, "missing.pem"));
    assert_null(ipc_tls_ctx()); /* nothing half set up */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_handshake_and_frames),
        cmocka_unit_test(test_wrong_address),
        cmocka_unit_test(test_other_ca),
        cmocka_unit_test(test_no_context),
    };

    return cmocka_run_group_tests(tests, make_pki, remove_pki);
}
