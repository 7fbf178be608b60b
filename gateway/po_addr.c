/* po_addr.c - pure: postoffice names, legacy MS: addresses and the SMTP <-> legacy mapping (doc/POSTOFFICE.md). */
#include "po_internal.h"

/* ---- names and legacy addresses ---------------------------------------- */

int po_name_valid(const char *s, size_t len)
{
    if (!s || len < 1 || len > PO_NAME_MAX)
        return 0;
    for (size_t i = 0; i < len; i++)
        if (!smtp_is_upper((unsigned char)s[i]) && !smtp_is_digit((unsigned char)s[i]))
            return 0;
    return 1;
}

int po_legacy_parse(const char *s, size_t len, struct po_addr *out, struct po_err *err)
{
    static const char *const part_names[3] = {"network", "postoffice", "mailbox"};
    char *dst[3];
    size_t pos = 3;
    char shown[48];

    memset(out, 0, sizeof(*out));
    dst[0] = out->network;
    dst[1] = out->postoffice;
    dst[2] = out->mailbox;
    if (!s || len < 3 || memcmp(s, "MS:", 3) != 0) {
        show(shown, sizeof(shown), s ? s : "", s ? len : 0);
        seterr(err, "legacy address \"%s\" does not start with \"MS:\"", shown);
        return -1;
    }
    show(shown, sizeof(shown), s, len);
    for (int part = 0; part < 3; part++) {
        size_t start = pos;

        while (pos < len && s[pos] != '/')
            pos++;
        if (part < 2 && pos == len) {
            seterr(err, "legacy address \"%s\" is not MS:NETWORK/POSTOFFICE/MAILBOX", shown);
            memset(out, 0, sizeof(*out));
            return -1;
        }
        if (part == 2 && pos != len) {
            seterr(err, "legacy address \"%s\" has more than three parts", shown);
            memset(out, 0, sizeof(*out));
            return -1;
        }
        if (!po_name_valid(s + start, pos - start)) {
            seterr(err, "legacy address \"%s\": bad %s name (1-10 of A-Z, 0-9)", shown,
                   part_names[part]);
            memset(out, 0, sizeof(*out));
            return -1;
        }
        memcpy(dst[part], s + start, pos - start);
        dst[part][pos - start] = '\0';
        pos++; /* past the '/' */
    }
    return 0;
}

static int name_field_valid(const char *f)
{
    size_t n = strnlen(f, PO_NAME_MAX + 1);

    return n <= PO_NAME_MAX && po_name_valid(f, n);
}

int po_legacy_format(const struct po_addr *a, char *out, size_t outsz)
{
    int n;

    if (!out || outsz == 0)
        return -1;
    out[0] = '\0';
    if (!a || !name_field_valid(a->network) || !name_field_valid(a->postoffice) ||
        !name_field_valid(a->mailbox))
        return -1;
    n = snprintf(out, outsz, "MS:%s/%s/%s", a->network, a->postoffice, a->mailbox);
    if (n < 0 || (size_t)n >= outsz) {
        out[0] = '\0';
        return -1;
    }
    return n;
}

/* ---- SMTP <-> legacy address mapping ----------------------------------- */

static int network_valid(const struct po_network *net)
{
    return net && name_field_valid(net->network) && name_field_valid(net->postoffice);
}

int po_smtp_to_legacy(const char *addr, const char *po_domain, const struct po_network *net,
                      struct po_addr *out, struct po_err *err)
{
    size_t len, locallen, domlen;
    const char *at;
    char shown[64], shown2[64];

    memset(out, 0, sizeof(*out));
    if (!network_valid(net)) {
        seterr(err, "the postoffice's network/postoffice names are not set or not valid");
        return -1;
    }
    if (!po_domain || !*po_domain) {
        seterr(err, "no postoffice domain configured");
        return -1;
    }
    if (!addr) {
        seterr(err, "no address");
        return -1;
    }
    len = strnlen(addr, IPC_ADDR_MAX + 1);
    if (len > IPC_ADDR_MAX) {
        seterr(err, "address longer than %d octets", IPC_ADDR_MAX);
        return -1;
    }
    at = strrchr(addr, '@');
    if (!at) {
        show(shown, sizeof(shown), addr, len);
        seterr(err, "address \"%s\" has no '@'", shown);
        return -1;
    }
    locallen = (size_t)(at - addr);
    domlen = len - locallen - 1;
    if (!smtp_ci_equal(at + 1, domlen, po_domain)) {
        show(shown, sizeof(shown), at + 1, domlen);
        show(shown2, sizeof(shown2), po_domain, strlen(po_domain));
        seterr(err, "domain \"%s\" is not the postoffice domain \"%s\"", shown, shown2);
        return -1;
    }
    if (locallen == 0) {
        seterr(err, "empty local part: not a valid mailbox name");
        return -1;
    }
    show(shown, sizeof(shown), addr, locallen);
    if (locallen > PO_NAME_MAX) {
        seterr(err, "local part \"%s\" is longer than %d characters: not a valid mailbox name",
               shown, PO_NAME_MAX);
        return -1;
    }
    for (size_t i = 0; i < locallen; i++) {
        if (!smtp_is_alnum((unsigned char)addr[i])) {
            seterr(err, "local part \"%s\" holds '%c': not a valid mailbox name (A-Z, 0-9 only)",
                   shown, shown[i]);
            return -1;
        }
    }
    for (size_t i = 0; i < locallen; i++)
        out->mailbox[i] = (char)smtp_to_upper((unsigned char)addr[i]);
    out->mailbox[locallen] = '\0';
    memcpy(out->network, net->network, strlen(net->network) + 1);
    memcpy(out->postoffice, net->postoffice, strlen(net->postoffice) + 1);
    return 0;
}

int po_legacy_to_smtp(const char *legacy, const char *po_domain, const struct po_network *net,
                      char out[IPC_ADDR_MAX + 1])
{
    struct po_addr a;
    size_t boxlen, domlen;

    out[0] = '\0';
    if (!legacy || !po_domain || !network_valid(net))
        return -1;
    if (po_legacy_parse(legacy, strnlen(legacy, PO_LEGACY_MAX + 1), &a, NULL) < 0)
        return -1;
    if (strcmp(a.network, net->network) != 0 || strcmp(a.postoffice, net->postoffice) != 0)
        return -1;
    boxlen = strlen(a.mailbox);
    domlen = strnlen(po_domain, IPC_ADDR_MAX + 1);
    if (domlen == 0 || boxlen + 1 + domlen > IPC_ADDR_MAX)
        return -1;
    for (size_t i = 0; i < boxlen; i++)
        out[i] = (char)smtp_to_lower((unsigned char)a.mailbox[i]);
    out[boxlen] = '@';
    memcpy(out + boxlen + 1, po_domain, domlen);
    out[boxlen + 1 + domlen] = '\0';
    return 0;
}
