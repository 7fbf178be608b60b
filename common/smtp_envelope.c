/* smtp_envelope.c - what an envelope may hold whoever wrote it (see smtp_envelope.h). */
#include "smtp_envelope.h"

#include <string.h>

#include "smtp_addr.h"
#include "smtp_char.h"
#include "smtp_cmd.h"
#include "smtp_xtext.h"

#define ENVELOPE_FLAGS (SMTP_ADDR_UTF8 | SMTP_ADDR_LAX_HYPHEN | SMTP_ADDR_LAX_LENGTH)

static int fail(const char **why, const char *text)
{
    if (why)
        *why = text;
    return -1;
}

static int mailbox_check(const char *addr, const char **why)
{
    size_t len = strlen(addr);

    if (smtp_has_control(addr, len))
        return fail(why, "control character (CR, LF or other) in the address");
    return smtp_addr_check(addr, len, ENVELOPE_FLAGS, why);
}

int smtp_envelope_sender_check(const char *addr, const char **why)
{
    return addr[0] ? mailbox_check(addr, why) : 0;
}

int smtp_envelope_rcpt_check(const char *addr, const char **why)
{
    if (!addr[0])
        return fail(why, "empty recipient address");
    if (smtp_ci_equal(addr, strlen(addr), "postmaster"))
        return 0;
    return mailbox_check(addr, why);
}

int smtp_envelope_envid_check(const char *envid, const char **why)
{
    size_t len = strlen(envid);

    if (len > SMTP_ENVID_MAX)
        return fail(why, "ENVID longer than 100 octets");
    return smtp_xtext_valid(envid, len) ? 0 : fail(why, "ENVID is not xtext");
}

int smtp_envelope_orcpt_valid(const char *v, size_t len)
{
    const char *semi;
    size_t tlen;

    if (len > SMTP_ORCPT_MAX || !(semi = memchr(v, ';', len)))
        return 0;
    tlen = (size_t)(semi - v);
    if (tlen == 0 || tlen + 1 == len)
        return 0;
    for (size_t i = 0; i < tlen; i++)
        if (!smtp_is_atext((unsigned char)v[i]))
            return 0;
    return smtp_xtext_valid(semi + 1, len - tlen - 1);
}

int smtp_envelope_orcpt_check(const char *orcpt, const char **why)
{
    if (!orcpt[0] || smtp_envelope_orcpt_valid(orcpt, strlen(orcpt)))
        return 0;
    return fail(why, "ORCPT is not addr-type;xtext of at most 500 octets");
}
