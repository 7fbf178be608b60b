/* fuzz_addr.c - fuzzes the address validators (common/smtp_addr.c: mailbox, domain, HELO, <path>) and the postoffice address mapping (gateway/po_addr.c). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "po_format.h"
#include "smtp_addr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_smtp(const char *s, size_t len, unsigned flags)
{
    const char *why = NULL;
    size_t off, mlen, end;

    if (smtp_addr_check(s, len, flags, &why) != 0 && why == NULL)
        abort(); /* a refusal says why */
    if (smtp_addr_check(s, len, 0, NULL) == 0 && smtp_addr_check(s, len, flags, NULL) != 0 &&
        (flags & (SMTP_ADDR_NO_QUOTED | SMTP_ADDR_NO_LITERAL)) == 0)
        abort(); /* flags only widen what is accepted, except the two NO_ ones */
    (void)smtp_mailbox_valid(s, len, flags & 1);
    why = NULL;
    if (smtp_domain_check(s, len, flags, &why) != 0 && why == NULL)
        abort();
    why = NULL;
    if (smtp_helo_check(s, len, &why) != 0 && why == NULL)
        abort();
    for (size_t p = 0; p < len && p < 4; p++) {
        if (s[p] != '<' || smtp_path_parse(s, len, p, flags, &off, &mlen, &end) != 0)
            continue;
        if (end <= p || end > len || s[end - 1] != '>' || off < p || off + mlen > end ||
            end - p > SMTP_PATH_MAX)
            abort(); /* the mailbox lies inside the path, which ends at '>' */
        if (mlen && smtp_addr_check(s + off, mlen, flags, NULL) != 0 &&
            !(flags & SMTP_ADDR_POSTMASTER))
            abort(); /* and is a mailbox */
    }
}

/* The validators agree with each other on s[0..len). */
static void check_agree(const char *s, size_t len)
{
    int mailbox = smtp_addr_check(s, len, 0, NULL) == 0;
    size_t off, mlen, end;
    char *path;

    if (mailbox != smtp_mailbox_valid(s, len, 0))
        abort();
    if (smtp_domain_check(s, len, 0, NULL) == 0 && smtp_helo_check(s, len, NULL) != 0)
        abort(); /* a domain is a HELO name */
    if (!mailbox)
        return;
    if (len > SMTP_PATH_MAX - 2 || !(path = malloc(len + 2)))
        return;
    path[0] = '<';
    memcpy(path + 1, s, len);
    path[len + 1] = '>';
    if (smtp_path_parse(path, len + 2, 0, 0, &off, &mlen, &end) != 0 || off != 1 || mlen != len ||
        end != len + 2)
        abort(); /* a mailbox in angle brackets is a path of it */
    free(path);
}

static void check_po(const char *s, size_t len, const char *z)
{
    static const struct po_network hq = {"CORPNET", "HQPO"};
    char out[IPC_ADDR_MAX + 1], legacy[PO_LEGACY_MAX + 1];
    struct po_addr a, b;
    struct po_err e;

    (void)po_name_valid(s, len);
    if (po_legacy_parse(s, len, &a, &e) == 0) {
        if (po_legacy_format(&a, legacy, sizeof(legacy)) != (int)len || memcmp(legacy, s, len) != 0)
            abort(); /* a legacy address formats back to itself */
        if (po_legacy_parse(legacy, len, &b, &e) != 0 || memcmp(&a, &b, sizeof(a)) != 0)
            abort();
    }
    if (po_smtp_to_legacy(z, "po.example.org", &hq, &a, &e) == 0) {
        if (po_legacy_format(&a, legacy, sizeof(legacy)) < 0)
            abort(); /* the mapping gives a valid legacy address */
        if (po_legacy_to_smtp(legacy, "po.example.org", &hq, out) != 0)
            abort(); /* which maps back */
    }
    if (po_legacy_to_smtp(z, "po.example.org", &hq, out) != 0 && out[0] != '\0')
        abort();
    if (memchr(out, '\0', sizeof(out)) == NULL)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    unsigned flags;
    char *s, *z;

    if (size < 1)
        return 0;
    flags = data[0] & 0x7f;
    s = malloc(size - 1 ? size - 1 : 1); /* exact size, no NUL */
    z = malloc(size);                    /* NUL-terminated copy, cut at the first NUL */
    if (!s || !z) {
        free(s);
        free(z);
        return 0;
    }
    memcpy(s, data + 1, size - 1);
    memcpy(z, data + 1, size - 1);
    z[size - 1] = '\0';
    if (strlen(z) > IPC_ADDR_MAX)
        z[IPC_ADDR_MAX] = '\0'; /* the mapping functions take at most that */
    check_smtp(s, size - 1, flags);
    check_agree(s, size - 1);
    check_po(s, size - 1, z);
    if (strchr(smtp_addr_domain(z), '@') != NULL)
        abort(); /* after the last '@' */
    free(s);
    free(z);
    return 0;
}
